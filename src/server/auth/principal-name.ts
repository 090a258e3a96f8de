/**
 * @module server/auth/principal-name
 * The shape of a principal name, wherever one is written (users, API keys, ACL rules, quota
 * entries) or presented (a token's claim, a certificate's CN). The auth file adds its reserved
 * names on top (auth-file.ts, `principalNameProblem`); quota entries may name those.
 */

/** Longest principal name. */
export const PRINCIPAL_NAME_LENGTH_MAX = 256;

/** Why `name` cannot have the shape of a principal name, or undefined when it can. */
export function principalNameShapeProblem(name: string): string | undefined {
  if (name.length === 0) return 'a principal name must not be empty';
  if (name.length > PRINCIPAL_NAME_LENGTH_MAX)
    return `a principal name is at most ${PRINCIPAL_NAME_LENGTH_MAX} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a principal name must not contain control characters';
  return undefined;
}
