/**
 * @module dashboard/app/app
 * The shell: finds out whether the server wants credentials (one API call), asks for them if
 * so, then shows the navigation and the view of the current route.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api, UnauthorizedError } from './api.js';
import { type Credentials, loadCredentials, saveCredentials } from './credentials.js';
import { href, type Route, useRoute } from './router.js';
import { createSession, SessionContext } from './session.js';
import { StatsProvider } from './stats.js';
import { CollectionsView, CollectionView, DocumentView } from './views/collections.js';
import { GroupsView } from './views/groups.js';
import { errorText } from './views/parts.js';
import { ServerView } from './views/server.js';
import { SignIn } from './views/sign-in.js';
import { TailView } from './views/tail.js';
import { TopicView } from './views/topic.js';
import { TopicsView } from './views/topics.js';

type Phase =
  | { readonly kind: 'checking' }
  | { readonly kind: 'sign-in'; readonly refusal?: string }
  | { readonly kind: 'ready'; readonly api: Api }
  | { readonly kind: 'unreachable'; readonly message: string };

/** One call that any principal allowed to use the dashboard may make (an empty list otherwise). */
async function probe(api: Api): Promise<void> {
  await api.get('/v1/topics');
}

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'checking' });
  const [busy, setBusy] = useState(false);

  const tryCredentials = async (credentials: Credentials | null, fromForm: boolean): Promise<void> => {
    const api = new Api(credentials);
    setBusy(true);
    try {
      await probe(api);
      saveCredentials(credentials);
      setPhase({ kind: 'ready', api });
    } catch (error) {
      if (error instanceof UnauthorizedError) {
        saveCredentials(null);
        setPhase(
          fromForm || credentials !== null
            ? { kind: 'sign-in', refusal: `The server refused these credentials (${error.message}).` }
            : { kind: 'sign-in' },
        );
      } else {
        setPhase({ kind: 'unreachable', message: errorText(error) });
      }
    } finally {
      setBusy(false);
    }
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: once, with what the tab stored
  useEffect(() => {
    void tryCredentials(loadCredentials(), false);
  }, []);

  if (phase.kind === 'checking') return <p class="boot">Connecting…</p>;
  if (phase.kind === 'unreachable') {
    return (
      <main id="main" class="sign-in">
        <h1>Tributary is not reachable</h1>
        <p class="error" role="alert">
          {phase.message}
        </p>
        <button type="button" onClick={() => void tryCredentials(loadCredentials(), false)}>
          Try again
        </button>
      </main>
    );
  }
  if (phase.kind === 'sign-in') {
    return (
      <SignIn
        refusal={phase.refusal}
        busy={busy}
        onSubmit={(credentials) => void tryCredentials(credentials, true)}
      />
    );
  }
  return (
    <Dashboard
      api={phase.api}
      onUnauthorized={() => {
        saveCredentials(null);
        setPhase({ kind: 'sign-in', refusal: 'The server asked for credentials again.' });
      }}
      onSignOut={() => {
        saveCredentials(null);
        setPhase({ kind: 'sign-in' });
      }}
    />
  );
}

const NAV: readonly {
  readonly label: string;
  readonly route: Route;
  readonly views: readonly Route['view'][];
}[] = [
  { label: 'Topics', route: { view: 'topics' }, views: ['topics', 'topic', 'tail'] },
  { label: 'Consumer groups', route: { view: 'groups' }, views: ['groups'] },
  { label: 'Collections', route: { view: 'collections' }, views: ['collections', 'collection', 'document'] },
  { label: 'Server', route: { view: 'server' }, views: ['server'] },
];

function Dashboard({
  api,
  onUnauthorized,
  onSignOut,
}: {
  api: Api;
  onUnauthorized: () => void;
  onSignOut: () => void;
}) {
  const route = useRoute();
  // After a navigation, focus goes to the new view (as a page load would put it at the top), so
  // a screen reader announces it and Tab continues from there; not on the first render.
  const navigated = useRef(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every navigation (a new route)
  useEffect(() => {
    if (navigated.current) document.getElementById('main')?.focus();
    navigated.current = true;
  }, [route]);
  // The callbacks are the App's and never change meaning; the session lives as long as `api`.
  const unauthorized = useRef(onUnauthorized);
  unauthorized.current = onUnauthorized;
  const session = useMemo(() => {
    const signal = (): void => unauthorized.current();
    return createSession(api.withUnauthorized(signal), signal);
  }, [api]);
  useEffect(() => () => session.close(), [session]);
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Tributary</span>
        <nav aria-label="Views">
          <ul>
            {NAV.map((item) => (
              <li key={item.label}>
                <a
                  href={href(item.route)}
                  aria-current={item.views.includes(route.view) ? 'page' : undefined}
                >
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {api.credentials === null ? null : (
          <button type="button" class="link" onClick={onSignOut}>
            Sign out
          </button>
        )}
      </header>
      <StatsProvider>
        <main id="main" tabIndex={-1}>
          <View route={route} />
        </main>
      </StatsProvider>
    </SessionContext.Provider>
  );
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case 'topics':
      return <TopicsView />;
    case 'topic':
      return <TopicView key={route.topic} topic={route.topic} />;
    case 'tail':
      return <TailView key={route.topic} topic={route.topic} />;
    case 'groups':
      return <GroupsView />;
    case 'collections':
      return <CollectionsView />;
    case 'collection':
      return <CollectionView key={route.collection} collection={route.collection} />;
    case 'document':
      return (
        <DocumentView
          key={`${route.collection}\0${route.key}`}
          collection={route.collection}
          documentKey={route.key}
        />
      );
    case 'server':
      return <ServerView />;
  }
}
