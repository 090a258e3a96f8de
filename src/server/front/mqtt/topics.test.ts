import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  filterMatches,
  logToMqttTopic,
  MQTT_TOPIC_BYTES_MAX,
  MqttTopicError,
  mqttTopicToLog,
  parseTopicFilter,
} from './topics.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const matches = (filter: string, name: string): boolean => filterMatches(parseTopicFilter(filter), name);
const reasonOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (error instanceof MqttTopicError) return error.reason;
    throw error;
  }
  throw new Error('expected an MqttTopicError');
};

describe('MQTT topic name → log', () => {
  it('maps the first level to the topic and the whole name to the key', () => {
    expect(mqttTopicToLog('sensors/kitchen/temp')).toEqual({ topic: 'sensors', key: 'sensors/kitchen/temp' });
    expect(mqttTopicToLog('sensors')).toEqual({ topic: 'sensors', key: 'sensors' });
    expect(mqttTopicToLog('sensors/')).toEqual({ topic: 'sensors', key: 'sensors/' });
    expect(mqttTopicToLog('a.b-c_d/Küche/℃ ok')).toEqual({ topic: 'a.b-c_d', key: 'a.b-c_d/Küche/℃ ok' });
  });

  it('maps a name with an empty first level to the topic of its second level, the whole name still the key', () => {
    expect(mqttTopicToLog('/devices/x')).toEqual({ topic: 'devices', key: '/devices/x' });
    expect(mqttTopicToLog('/TopicA')).toEqual({ topic: 'TopicA', key: '/TopicA' });
    expect(mqttTopicToLog('/TopicA/')).toEqual({ topic: 'TopicA', key: '/TopicA/' });
  });

  it.each([
    ['', 'it is empty'],
    ['a/\0', 'it contains NUL'],
    ['a/+/b', 'a topic name cannot contain "+" or "#"'],
    ['a/#', 'a topic name cannot contain "+" or "#"'],
    ['a/b+c', 'a topic name cannot contain "+" or "#"'],
    ['$SYS/broker', 'names starting with "$" are reserved for the server'],
    ['a/\uD800', 'it is not well-formed UTF-8'],
  ])('refuses %j: %s', (name, reason) => {
    expect(reasonOf(() => mqttTopicToLog(name))).toBe(reason);
  });

  it.each([
    '/', // empty first and second levels
    '//finance', // only one leading empty level is passed over
    '/__mqtt.retained/x',
    '/with space',
    '__consumer_offsets/x',
    '__mqtt.retained',
    'with space/x',
    'Küche/temp',
    '../x',
    '.deleting-x/y',
    `${'a'.repeat(250)}/x`,
  ])('refuses %j: its first level is no user topic', (name) => {
    expect(reasonOf(() => mqttTopicToLog(name))).toMatch(/^its first level ".*" is not a valid topic name: /);
  });

  it('counts the 65535-byte limit in UTF-8 bytes, not characters', () => {
    const fits = `t/${'é'.repeat((MQTT_TOPIC_BYTES_MAX - 2) >> 1)}`; // 2 + 65532 bytes
    expect(utf8(fits).length).toBe(MQTT_TOPIC_BYTES_MAX - 1);
    expect(mqttTopicToLog(fits).topic).toBe('t');
    expect(reasonOf(() => mqttTopicToLog(`${fits}éé`))).toBe('it is longer than 65535 bytes');
    expect(`${fits}éé`.length).toBeLessThan(MQTT_TOPIC_BYTES_MAX);
  });

  it('error messages stay short whatever the name', () => {
    const error = (() => {
      try {
        mqttTopicToLog(`$${'x'.repeat(60_000)}`);
      } catch (caught) {
        return caught as MqttTopicError;
      }
    })();
    expect(error).toBeInstanceOf(MqttTopicError);
    expect(error!.message.length).toBeLessThan(300);
  });
});

describe('log record → MQTT topic name', () => {
  it('uses a key that is the topic or starts with "topic/" as it is', () => {
    expect(logToMqttTopic('sensors', utf8('sensors/kitchen/temp'))).toBe('sensors/kitchen/temp');
    expect(logToMqttTopic('sensors', utf8('sensors'))).toBe('sensors');
    expect(logToMqttTopic('sensors', utf8('sensors/'))).toBe('sensors/');
    expect(logToMqttTopic('sensors', utf8('/sensors'))).toBe('/sensors');
    expect(logToMqttTopic('sensors', utf8('/sensors/kitchen'))).toBe('/sensors/kitchen');
  });

  it('puts any other UTF-8 key under the topic', () => {
    expect(logToMqttTopic('orders', utf8('customer-7'))).toBe('orders/customer-7');
    expect(logToMqttTopic('orders', utf8('ordersX/1'))).toBe('orders/ordersX/1');
    expect(logToMqttTopic('orders', utf8('/a'))).toBe('orders//a');
    expect(logToMqttTopic('orders', utf8('$x'))).toBe('orders/$x');
    // A byte order mark is part of the key, not something to strip.
    expect(logToMqttTopic('orders', utf8('\uFEFFk'))).toBe('orders/\uFEFFk');
  });

  it('delivers under the topic itself when the key cannot be a name', () => {
    expect(logToMqttTopic('orders', null)).toBe('orders');
    expect(logToMqttTopic('orders', new Uint8Array(0))).toBe('orders');
    expect(logToMqttTopic('orders', Uint8Array.of(0xff, 0x00, 0x41))).toBe('orders');
    expect(logToMqttTopic('orders', Uint8Array.of(0xed, 0xa0, 0x80))).toBe('orders'); // encoded surrogate
    expect(logToMqttTopic('orders', utf8('a+b'))).toBe('orders');
    expect(logToMqttTopic('orders', utf8('orders/#'))).toBe('orders');
    expect(logToMqttTopic('orders', utf8('x\0y'))).toBe('orders');
    expect(logToMqttTopic('orders', utf8(`orders/${'x'.repeat(MQTT_TOPIC_BYTES_MAX)}`))).toBe('orders');
    expect(logToMqttTopic('orders', utf8('x'.repeat(MQTT_TOPIC_BYTES_MAX - 6)))).toBe('orders');
    expect(logToMqttTopic('orders', utf8('x'.repeat(MQTT_TOPIC_BYTES_MAX - 7)))).toHaveLength(
      MQTT_TOPIC_BYTES_MAX,
    );
  });
});

describe('topic filters', () => {
  it('parses literal, wildcard and shared filters', () => {
    expect(parseTopicFilter('sport/tennis/+')).toEqual({
      filter: 'sport/tennis/+',
      shareName: null,
      levels: ['sport', 'tennis', '+'],
      topic: 'sport',
    });
    expect(parseTopicFilter('#')).toEqual({ filter: '#', shareName: null, levels: ['#'], topic: null });
    expect(parseTopicFilter('+/tennis/#').topic).toBeNull();
    expect(parseTopicFilter('$share/consumers/sport/#')).toEqual({
      filter: 'sport/#',
      shareName: 'consumers',
      levels: ['sport', '#'],
      topic: 'sport',
    });
    expect(parseTopicFilter('$share/g/+').topic).toBeNull();
    // An empty first level: the second names the topic, as in topic names.
    expect(parseTopicFilter('/devices/+').topic).toBe('devices');
    expect(parseTopicFilter('/+').topic).toBeNull();
    expect(parseTopicFilter('/#').topic).toBeNull();
  });

  // MQTT 3.1.1 and 5.0 §4.7.1: valid and invalid filters from the specification.
  it.each(['#', 'sport/#', 'sport/tennis/player1/#', '+', '+/tennis/#', 'sport/+/player1', 'sport/+', '+/+'])(
    'accepts the spec example %j',
    (filter) => {
      expect(() => parseTopicFilter(filter)).not.toThrow();
    },
  );

  it.each([
    ['sport/tennis#', '"+" and "#" must occupy a whole level'],
    ['sport/tennis/#/ranking', '"#" must be the last level'],
    ['sport+', '"+" and "#" must occupy a whole level'],
    ['#/a', '"#" must be the last level'],
    ['a/++', '"+" and "#" must occupy a whole level'],
    ['', 'it is empty'],
    ['a/\0', 'it contains NUL'],
    ['$share/', 'a shared subscription is "$share/<name>/<filter>"'],
    ['$share/g', 'a shared subscription is "$share/<name>/<filter>"'],
    ['$share//a', 'the share name is empty'],
    ['$share/g+/a', 'a share name cannot contain "+" or "#"'],
    ['$share/#/a', 'a share name cannot contain "+" or "#"'],
    ['$share/g/', 'the filter after the share name is empty'],
    ['$share/g/a/#/b', '"#" must be the last level'],
  ])('refuses %j: %s', (filter, reason) => {
    expect(reasonOf(() => parseTopicFilter(filter))).toBe(reason);
  });

  // A literal first level names the Tributary topic read: one that no publish can reach is refused.
  it.each([
    '$SYS/#',
    '$SYS/monitor/+',
    '//finance',
    '/',
    '/__consumer_offsets/#',
    '__consumer_offsets/#',
    '$share/g/$SYS/#',
    '$share',
  ])('refuses %j: its first level is no user topic', (filter) => {
    expect(reasonOf(() => parseTopicFilter(filter))).toMatch(
      /^its first level ".*" is not a valid topic name: /,
    );
  });
});

describe('filter matching (MQTT §4.7)', () => {
  it.each([
    // §4.7.1.2 multi-level wildcard: "#" matches the parent level and any number of children.
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['sport/tennis/#', 'sport/tennis', true],
    ['sport/tennis/#', 'sport', false],
    ['sport/tennis/#', 'sport/tennisX', false],
    ['#', 'sport/tennis/player1', true],
    ['#', 'sport', true],
    // §4.7.1.3 single-level wildcard: exactly one level, possibly empty.
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player2', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['sport/+/player1', 'sport/tennis/player1', true],
    ['+/+', '/finance', true],
    ['+', '/finance', false],
    ['+', 'finance', true],
    ['+/tennis/#', 'sport/tennis', true],
    ['+/tennis/#', 'sport/tennis/player1/ranking', true],
    ['+/tennis/#', 'sport/golf', false],
    // §4.7.2 a filter starting with a wildcard never matches a name starting with "$".
    ['#', '$SYS/monitor/Clients', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$share/g/#', '$SYS/x', false],
    // §4.7.3 names and filters are case sensitive and "/" levels are significant.
    ['ACCOUNTS', 'Accounts', false],
    ['Accounts', 'Accounts', true],
    ['finance', '/finance', false],
    ['finance', 'finance/', false],
    ['finance/', 'finance/', true],
    // Shared subscriptions match with their filter proper.
    ['$share/g/sport/+', 'sport/tennis', true],
    ['$share/g/sport/+', 'g/sport/tennis', false],
  ])('%j matches %j: %s', (filter, name, expected) => {
    expect(matches(filter, name)).toBe(expected);
  });

  // Filters the parser refuses (their first level is no Tributary topic) still match per MQTT.
  it.each([
    ['/+', '/finance', true],
    ['/+', 'finance', false],
    ['$SYS/+', '$SYS/x', true],
    ['$SYS/#', '$SYS', true],
  ])('unparsed %j matches %j: %s', (text, name, expected) => {
    const filter = { filter: text, shareName: null, levels: text.split('/'), topic: null };
    expect(filterMatches(filter, name)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties.

const firstLevel = fc
  .stringMatching(/^[A-Za-z0-9._-]{1,20}$/)
  .filter(
    (level) => !level.startsWith('__') && level !== '.' && level !== '..' && !level.startsWith('.deleting-'),
  );
/** Any level MQTT allows in a name: full Unicode (astral planes too) without "/", "+", "#", NUL. */
const nameLevel = fc.string({ unit: 'binary', maxLength: 8 }).map((level) => level.replace(/[/+#\0]/g, '_'));
const mqttName = fc
  .tuple(fc.boolean(), firstLevel, fc.array(nameLevel, { maxLength: 6 }))
  .map(([leadingSlash, first, rest]) => (leadingSlash ? '/' : '') + [first, ...rest].join('/'));

/** Names and filters over a small alphabet, so matches are frequent. */
const smallLevel = fc.constantFrom('a', 'b', 'ab', '', '$x', 'é');
const smallName = fc
  .tuple(
    fc.constantFrom('', '/'),
    fc.constantFrom('a', 'b', '$x', 'a$'),
    fc.array(smallLevel, { maxLength: 4 }),
  )
  .map(([lead, first, rest]) => (first === '$x' ? '' : lead) + [first, ...rest].join('/'));
const smallFilter = fc
  .tuple(
    fc.array(fc.constantFrom('a', 'b', 'ab', '', 'é', '+'), { minLength: 1, maxLength: 5 }),
    fc.boolean(),
    fc.boolean(),
    fc.constantFrom('', '/'),
  )
  .map(([levels, hash, literalFirst, lead]) => {
    const all = hash ? [...levels, '#'] : levels;
    if (literalFirst && all[0] !== 'a') all[0] = 'b';
    return lead + all.join('/');
  })
  .filter((filter) => {
    const first = filter.replace(/^\//, '').split('/')[0];
    return first === '+' || first === '#' || first === 'a' || first === 'b';
  });

/** Reference: MQTT §4.7 as one regular expression per filter. */
function referenceRegex(levels: readonly string[]): RegExp {
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let pattern = '';
  levels.forEach((level, index) => {
    const separator = index === 0 ? '' : '/';
    if (level === '#') pattern += index === 0 ? '.*' : '(?:/.*)?';
    else if (level === '+') pattern += `${separator}[^/]*`;
    else pattern += separator + literal(level);
  });
  const noDollar = levels[0] === '+' || levels[0] === '#' ? '(?!\\$)' : '';
  return new RegExp(`^${noDollar}${pattern}$`, 'su');
}

/** Strings that tend to break parsers: separators, wildcards, the share prefix, NUL, surrogates. */
const hostile = fc
  .array(
    fc.oneof(
      fc.constantFrom('/', '+', '#', '$share/', '$', '\0', 'a', '__', '.', '\uD800', '\uDC00', '😀', ' '),
      fc.string({ unit: 'binary', maxLength: 4 }),
    ),
    { maxLength: 12 },
  )
  .map((pieces) => pieces.join(''));

describe('topic properties', () => {
  it('name → log → name is the identity for every name MQTT can publish', () => {
    fc.assert(
      fc.property(mqttName, (name) => {
        const { topic, key } = mqttTopicToLog(name);
        expect(key).toBe(name);
        const under = name.startsWith('/') ? name.slice(1) : name;
        expect(under === topic || under.startsWith(`${topic}/`)).toBe(true);
        expect(logToMqttTopic(topic, utf8(key))).toBe(name);
      }),
      { numRuns: 2000 },
    );
  });

  it('any record key gives a publishable name that maps back to the same topic', () => {
    const key = fc.oneof(
      fc.constant(null),
      fc.uint8Array({ maxLength: 16 }),
      fc.string({ unit: 'binary', maxLength: 12 }).map(utf8),
    );
    fc.assert(
      fc.property(firstLevel, key, (topic, recordKey) => {
        const name = logToMqttTopic(topic, recordKey);
        expect(mqttTopicToLog(name).topic).toBe(topic);
      }),
      { numRuns: 2000 },
    );
  });

  it('matching agrees with a reference regular expression', () => {
    fc.assert(
      fc.property(smallFilter, smallName, (text, name) => {
        const filter = parseTopicFilter(text);
        expect(filterMatches(filter, name)).toBe(referenceRegex(filter.levels).test(name));
      }),
      { numRuns: 5000 },
    );
  });

  it('a filter with a literal first level only matches names of that topic', () => {
    fc.assert(
      fc.property(smallFilter, mqttName, (text, name) => {
        const filter = parseTopicFilter(text);
        if (filter.topic !== null && filterMatches(filter, name)) {
          expect(mqttTopicToLog(name).topic).toBe(filter.topic);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a name used as a filter matches itself and nothing else of the same shape', () => {
    fc.assert(
      fc.property(mqttName, mqttName, (name, other) => {
        const filter = parseTopicFilter(name);
        expect(filterMatches(filter, name)).toBe(true);
        expect(filterMatches(filter, other)).toBe(name === other);
      }),
      { numRuns: 1000 },
    );
  });

  it('hostile text only ever gives MqttTopicError, and accepted filters are well-formed', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        for (const parse of [parseTopicFilter, mqttTopicToLog]) {
          try {
            parse(text);
          } catch (error) {
            if (!(error instanceof MqttTopicError)) throw error;
            expect(error.reason.length).toBeGreaterThan(0);
          }
        }
        try {
          const filter = parseTopicFilter(text);
          expect(filter.levels.join('/')).toBe(filter.filter);
          expect(filter.levels.slice(0, -1)).not.toContain('#');
          for (const level of filter.levels) expect(level.length === 1 || !/[+#]/.test(level)).toBe(true);
          expect(filterMatches(filter, 'a/b')).toBeTypeOf('boolean');
        } catch (error) {
          if (!(error instanceof MqttTopicError)) throw error;
        }
      }),
      { numRuns: 5000 },
    );
  });
});
