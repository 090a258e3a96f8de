/**
 * @module server/auth/jwt
 * Verifies JWTs (via `jose`) against the auth file's `jwt` section: HMAC secrets (HS256/384/512),
 * PEM public keys (RS, PS, ES, EdDSA), a JWKS file, or a JWKS URL (fetched, cached and re-fetched
 * on an unknown `kid` by jose's remote key set).
 *
 * Each configured key is pinned to its one algorithm, and a token's `alg` only ever selects keys
 * configured for that algorithm: an HS256 token is checked against HMAC secrets only, never
 * against an RSA public key used as an HMAC secret (the classic key-confusion forgery), and
 * `alg: none` matches no key at all. JWKS sets are used for public-key algorithms only.
 *
 * Checked: signature, `exp` and `nbf` (with `clockToleranceSec`), `iss` and `aud` when the file
 * names them. The principal is the `principalClaim` (default `sub`); the `permissionsClaim`
 * (default `tributary`) may carry rules (server/auth/permissions.ts).
 *
 * @example
 * const verifier = await createJwtVerifier(config.jwt, { file: config.path });
 * const { principal, expiresAt } = await verifier.verify(token); // throws AuthFailure
 */
import type { importSPKI, JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import {
  AuthFileError,
  HMAC_ALGORITHMS,
  type JwtAlgorithm,
  type JwtConfig,
  PUBLIC_KEY_ALGORITHMS,
  principalNameProblem,
} from './auth-file.js';
import { AuthFailure } from './failure.js';
import { PermissionsClaimError, parsePermissionsClaim } from './permissions.js';
import type { Principal } from './types.js';

/** Longer tokens are refused before parsing. */
export const TOKEN_LENGTH_MAX = 16 * 1024;
/** How long a JWKS URL may take to answer. */
const JWKS_FETCH_TIMEOUT_MS = 5_000;

export interface VerifiedToken {
  readonly principal: Principal;
  /** `exp` in ms since the epoch; null when the token has no `exp`. */
  readonly expiresAt: number | null;
}

export interface JwtVerifier {
  /** Throws {@link AuthFailure} when the token is not valid now. */
  verify(token: string): Promise<VerifiedToken>;
}

export interface JwtVerifierOptions {
  /** The auth file, for errors about its keys. */
  readonly file: string;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

type VerifyKey = Uint8Array | Awaited<ReturnType<typeof importSPKI>> | JWTVerifyGetKey;
interface Candidate {
  readonly alg: JwtAlgorithm | 'jwks';
  readonly kid: string | undefined;
  readonly key: VerifyKey;
}

/** Imports the configured keys; a key that is not what the file says is an {@link AuthFileError}. */
export async function createJwtVerifier(
  config: JwtConfig,
  options: JwtVerifierOptions,
): Promise<JwtVerifier> {
  // Loaded here, not at module load: a server without a `jwt` section never needs jose.
  const { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, importSPKI, jwtVerify } =
    await import('jose');
  const candidates: Candidate[] = [];
  for (const key of config.loadedKeys) {
    if ('secret' in key) {
      candidates.push({ alg: key.alg, kid: key.kid, key: key.secret });
      continue;
    }
    try {
      candidates.push({ alg: key.alg, kid: key.kid, key: await importSPKI(key.pem, key.alg) });
    } catch (error) {
      throw new AuthFileError(options.file, [
        { path: key.where, message: `not a ${key.alg} public key: ${(error as Error).message}` },
      ]);
    }
  }
  const sets: JWTVerifyGetKey[] = [];
  if (config.jwks !== undefined) {
    try {
      sets.push(createLocalJWKSet({ keys: config.jwks.keys as never }));
    } catch (error) {
      throw new AuthFileError(options.file, [{ path: 'jwt.jwksFile', message: (error as Error).message }]);
    }
  }
  if (config.jwksUrl !== undefined) {
    sets.push(createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: JWKS_FETCH_TIMEOUT_MS }));
  }
  const now = options.now ?? Date.now;
  const base: Omit<JWTVerifyOptions, 'algorithms' | 'currentDate'> = {
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience as string | string[] }),
    clockTolerance: config.clockToleranceSec,
  };

  return {
    async verify(token) {
      if (token.length === 0 || token.length > TOKEN_LENGTH_MAX) {
        throw new AuthFailure('bad-token', `a token must have 1 to ${TOKEN_LENGTH_MAX} characters`);
      }
      let header: { alg?: unknown; kid?: unknown };
      try {
        header = decodeProtectedHeader(token);
      } catch {
        throw new AuthFailure('bad-token', 'not a JWS compact token');
      }
      const alg = header.alg;
      const kid = typeof header.kid === 'string' ? header.kid : undefined;
      const hmac = (HMAC_ALGORITHMS as readonly unknown[]).includes(alg);
      const publicKey = (PUBLIC_KEY_ALGORITHMS as readonly unknown[]).includes(alg);
      if (!hmac && !publicKey) {
        throw new AuthFailure('token-algorithm', `alg ${JSON.stringify(alg)?.slice(0, 32)} is not accepted`);
      }
      const keys: VerifyKey[] = candidates
        .filter((c) => c.alg === alg && (kid === undefined || c.kid === undefined || c.kid === kid))
        .map((c) => c.key);
      if (publicKey) keys.push(...sets);
      if (keys.length === 0)
        throw new AuthFailure('token-algorithm', `no key is configured for ${String(alg)}`);
      const options: JWTVerifyOptions = {
        ...base,
        algorithms: [alg as JwtAlgorithm],
        currentDate: new Date(now()),
      };
      let payload: JWTPayload | undefined;
      let lastFailure: AuthFailure | undefined;
      for (const key of keys) {
        try {
          // One call per key type: jose's overloads take a key or a key-set function.
          payload =
            typeof key === 'function'
              ? (await jwtVerify(token, key, options)).payload
              : (await jwtVerify(token, key, options)).payload;
          break;
        } catch (error) {
          lastFailure = failureOf(error);
          // A bad signature or no matching key: another key may match. Anything else was found
          // after the signature checked out (claims), so it is final.
          if (lastFailure.reason !== 'token-signature') throw lastFailure;
        }
      }
      if (payload === undefined)
        throw lastFailure ?? new AuthFailure('token-signature', 'no key verified the token');
      return tokenPrincipal(payload, config);
    },
  };
}

function tokenPrincipal(payload: JWTPayload, config: JwtConfig): VerifiedToken {
  const name = payload[config.principalClaim];
  if (typeof name !== 'string') {
    throw new AuthFailure('token-principal', `the token has no string "${config.principalClaim}" claim`);
  }
  const problem = principalNameProblem(name);
  if (problem !== undefined) throw new AuthFailure('token-principal', problem, name.slice(0, 64));
  let rules: Principal['rules'] = [];
  const claim = payload[config.permissionsClaim];
  if (claim !== undefined) {
    try {
      rules = parsePermissionsClaim(claim, name);
    } catch (error) {
      if (error instanceof PermissionsClaimError)
        throw new AuthFailure('token-permissions', error.message, name);
      throw error;
    }
  }
  const expiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  return { principal: { name, method: 'token', rules }, expiresAt };
}

/** Maps jose's errors to audit reasons. */
function failureOf(error: unknown): AuthFailure {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new AuthFailure('token-signature', message);
    case 'ERR_JWT_EXPIRED':
      return new AuthFailure('token-expired', message);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (error as { claim?: unknown }).claim;
      return new AuthFailure(claim === 'nbf' ? 'token-not-yet-valid' : 'token-claims', message);
    }
    case 'ERR_JWKS_TIMEOUT':
      return new AuthFailure('jwks-unavailable', message);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new AuthFailure('token-algorithm', message);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return new AuthFailure('bad-token', message);
    default:
      // A JWKS URL that cannot be fetched or parsed, or a key jose cannot use.
      return new AuthFailure('jwks-unavailable', message);
  }
}
