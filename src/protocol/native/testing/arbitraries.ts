/**
 * fast-check generators shared by the codec tests and the fuzz tests.
 */
import fc from 'fast-check';

/**
 * Values built from `leaf` values, nested in arrays and string-keyed maps: the shape of every
 * MessagePack document the protocol carries. Each test picks its own leaves and sizes.
 */
export function nestedValues(
  leaf: fc.Arbitrary<unknown>,
  sizes: { readonly itemsMax: number; readonly keysMax: number; readonly keys: fc.Arbitrary<string> },
): fc.Arbitrary<unknown> {
  return fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: sizes.itemsMax }),
      fc.dictionary(sizes.keys, tie('value'), { maxKeys: sizes.keysMax }),
    ),
  })).value;
}
