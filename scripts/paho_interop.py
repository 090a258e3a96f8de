"""Runs the Eclipse Paho interoperability suites (client_test.py for MQTT 3.1.1, client_test5.py
for MQTT 5) from a checkout against one broker and prints one line per test:
PASS|FAIL|ERROR|TIMEOUT <suite> <test> (<seconds> s). Each test runs in its own process with a
time limit, so one that hangs does not stop the others.

usage: paho_interop.py <checkout>/interoperability <host> <port> [v3|v5|both] [test name ...]
environment: PAHO_TEST_TIMEOUT_S (default 90), PAHO_DETAIL=1 prints the failure's traceback
"""
import importlib, io, os, subprocess, sys, time, unittest

SUITES = {'v3': 'client_test', 'v5': 'client_test5'}
TOPICS = ("TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA")
WILD_TOPICS = ("TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#")
NOSUBSCRIBE_TOPICS = ("test/nosubscribe",)

def load(folder, module_name, host, port):
    sys.path.insert(0, folder)
    os.chdir(folder)
    module = importlib.import_module(module_name)
    # The suites read these module globals (their __main__ block sets them from argv).
    module.host, module.port = host, port
    module.topics, module.wildtopics = TOPICS, WILD_TOPICS
    module.nosubscribe_topics = NOSUBSCRIBE_TOPICS
    module.topic_prefix = "client_test5/"
    if hasattr(module, 'setData'):
        original = module.setData
        def set_data():
            original()
            module.host, module.port = host, port
        module.setData = set_data
    return unittest.TestLoader().loadTestsFromTestCase(module.Test)

def test_name(test):
    return test.id().split('.')[-1]

def run_one(folder, module_name, host, port, name):
    """Child process: runs one test, exit code 0 pass, 1 fail, 2 error."""
    for test in load(folder, module_name, host, port):
        if test_name(test) == name:
            stream = io.StringIO()
            outcome = unittest.TextTestRunner(stream=stream, verbosity=0).run(unittest.TestSuite([test]))
            problems = outcome.errors or outcome.failures
            if problems:
                sys.stderr.write(problems[0][1])
            sys.exit(2 if outcome.errors else 1 if outcome.failures else 0)
    sys.exit(3)

def main():
    if sys.argv[1] == '--one':
        folder, module_name, host, port, name = sys.argv[2:7]
        run_one(folder, module_name, host, int(port), name)
    folder, host, port = os.path.abspath(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    which = sys.argv[4] if len(sys.argv) > 4 else 'both'
    only = set(sys.argv[5:])
    timeout_s = float(os.environ.get('PAHO_TEST_TIMEOUT_S', '90'))
    names = [SUITES[which]] if which in SUITES else list(SUITES.values())
    failed = 0
    for module_name in names:
        tests = [test_name(t) for t in load(folder, module_name, host, port)]
        sys.path.remove(folder)
        for name in tests:
            if only and name not in only:
                continue
            started = time.monotonic()
            try:
                child = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), '--one', folder, module_name, host, str(port), name],
                    capture_output=True, text=True, timeout=timeout_s)
                status = {0: 'PASS', 1: 'FAIL', 2: 'ERROR'}.get(child.returncode, 'ERROR')
                detail = child.stderr
            except subprocess.TimeoutExpired as expired:
                status, detail = 'TIMEOUT', (expired.stderr or b'').decode('utf-8', 'replace') if isinstance(expired.stderr, bytes) else (expired.stderr or '')
            failed += status != 'PASS'
            print(f"{status} {module_name} {name} ({time.monotonic() - started:.1f} s)", flush=True)
            if status != 'PASS' and os.environ.get('PAHO_DETAIL'):
                tail = detail.strip().splitlines()[-40:]
                print('  ' + '\n  '.join(tail), flush=True)
    sys.exit(1 if failed else 0)

if __name__ == '__main__':
    main()
