/**
 * Authentication as OpenSSH orders it: the agent, then the key given, then the default key files.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type * as Ssh2 from "ssh2"
import { ValueError } from "../../FleetError.ts"

/**
 * One method to try, and how messages name it.
 *
 * @since 0.2.0
 * @internal
 */
export interface Attempt {
  readonly label: string
  readonly method: Ssh2.AnyAuthMethod
}

/**
 * What the caller gave for authentication.
 *
 * @since 0.2.0
 * @internal
 */
export interface Credentials {
  readonly agent?: string | undefined
  readonly privateKey?: Redacted.Redacted<string | Uint8Array> | undefined
  readonly passphrase?: Redacted.Redacted<string> | undefined
}

const readDefaultKeys = Effect.promise(async () => {
  const keys: Array<{ readonly file: string; readonly key: Buffer }> = []
  for (const name of ["id_ed25519", "id_ecdsa", "id_rsa"]) {
    try {
      keys.push({ file: `~/.ssh/${name}`, key: await fs.readFile(path.join(os.homedir(), ".ssh", name)) })
    } catch {
      // Absent or unreadable key files are simply not offered, as OpenSSH does.
    }
  }
  return keys
})

/**
 * The methods to try, in order; a `ValueError` when the key given cannot be read or there is nothing to try.
 *
 * @since 0.2.0
 * @internal
 */
export const methods = (
  parseKey: typeof Ssh2.utils.parseKey,
  credentials: Credentials,
  username: string
): Effect.Effect<ReadonlyArray<Attempt>, ValueError> =>
  Effect.gen(function* () {
    const attempts: Array<Attempt> = []
    const agent = credentials.agent ?? process.env.SSH_AUTH_SOCK
    if (agent !== undefined && agent !== "") {
      attempts.push({ label: `ssh-agent (${agent})`, method: { type: "agent", username, agent } })
    }
    const passphrase = credentials.passphrase === undefined ? undefined : Redacted.value(credentials.passphrase)
    const publicKey = (key: string | Buffer): Ssh2.AnyAuthMethod => ({
      type: "publickey",
      username,
      key,
      ...(passphrase !== undefined ? { passphrase } : {})
    })
    if (credentials.privateKey !== undefined) {
      const secret = Redacted.value(credentials.privateKey)
      const key = typeof secret === "string" ? secret : Buffer.from(secret)
      const parsed = parseKey(key, passphrase)
      if (parsed instanceof Error) {
        // ssh2 quotes fields read from the key after a colon (its magic, cipher, type): the key stays out of it.
        const reason = parsed.message.split(":")[0] ?? "unreadable key"
        return yield* new ValueError({ message: `Unable to use the private key: ${reason}` })
      }
      attempts.push({ label: "the private key given", method: publicKey(key) })
    }
    for (const { file, key } of yield* readDefaultKeys) attempts.push({ label: file, method: publicKey(key) })
    if (attempts.length === 0) {
      return yield* new ValueError({
        message:
          "Unable to connect via ssh: no authentication method available (no ssh-agent in SSH_AUTH_SOCK, " +
          "no privateKey option, no ~/.ssh/id_ed25519, id_ecdsa or id_rsa)"
      })
    }
    return attempts
  })

/**
 * Errors ssh2 reports before it moves on to the next authentication method: failed agents, unusable keys.
 *
 * @since 0.2.0
 * @internal
 */
export const isNote = (error: Error & { readonly level?: string }): boolean =>
  error.level === "agent" ||
  (error.level === "client-authentication" && error.message !== "All configured authentication methods failed")
