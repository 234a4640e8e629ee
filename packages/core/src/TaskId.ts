/**
 * The shapes of task ids, as crun.ai's examples show them: an 18-character lower-case alphanumeric
 * `detect_task_id` and an 11-character base62 `detect_id`. Clients accept any non-empty id; servers that want to
 * look like crun.ai mint these shapes from random bytes.
 *
 * @since 0.1.0
 */

const lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
const base62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/**
 * @since 0.1.0
 * @category Constants
 */
export const detectTaskIdPattern: RegExp = /^[a-z0-9]{18}$/

/**
 * @since 0.1.0
 * @category Constants
 */
export const detectIdPattern: RegExp = /^[A-Za-z0-9]{11}$/

/**
 * Draws `length` characters of `alphabet` from a source of random bytes, without modulo bias (bytes that would
 * bias the draw are skipped).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromRandomBytes = (
  randomBytes: (size: number) => Uint8Array,
  alphabet: string,
  length: number
): string => {
  const limit = 256 - (256 % alphabet.length)
  let out = ""
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit) out += alphabet[byte % alphabet.length]
      if (out.length === length) break
    }
  }
  return out
}

/**
 * A new `detect_task_id` (18 lower-case alphanumerics, ~93 bits).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeDetectTaskId = (randomBytes: (size: number) => Uint8Array): string =>
  fromRandomBytes(randomBytes, lowerAlnum, 18)

/**
 * A new `detect_id` (11 base62 characters, ~65 bits).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeDetectId = (randomBytes: (size: number) => Uint8Array): string =>
  fromRandomBytes(randomBytes, base62, 11)

/**
 * An unguessable token for URLs (face-crop links, uploads): base62, 32 characters (~190 bits).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeToken = (randomBytes: (size: number) => Uint8Array, length = 32): string =>
  fromRandomBytes(randomBytes, base62, length)
