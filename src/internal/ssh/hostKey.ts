/**
 * The host-key policy: what to do with the key a server offers, given the known_hosts file. Pure, so that every
 * case is tested without a server; the handshake only applies the verdict.
 */
import type * as Ssh2 from "ssh2"
import * as KnownHosts from "./knownHosts.ts"

/**
 * `true`: only listed hosts with a matching key. `"accept-new"`: unknown hosts are recorded and accepted, changed
 * keys refused. `false`: any key, the file neither read nor written.
 *
 * @since 0.2.0
 * @internal
 */
export type Policy = boolean | "accept-new"

/**
 * The known_hosts file as read for one connection attempt.
 *
 * @since 0.2.0
 * @internal
 */
export interface Known {
  readonly file: string
  readonly entries: ReadonlyArray<KnownHosts.Entry>
}

/**
 * What to do with an offered key. `Record`: append `line` to the file, then accept.
 *
 * @since 0.2.0
 * @internal
 */
export type Verdict =
  | { readonly _tag: "Accept" }
  | { readonly _tag: "Record"; readonly line: string }
  | { readonly _tag: "Refuse"; readonly reason: string }

const accept: Verdict = { _tag: "Accept" }

/**
 * Judges the key a host offered. `host.ip` is the address it resolved to; fleetctl records addresses.
 *
 * @since 0.2.0
 * @internal
 */
export const judge = (policy: Policy, known: Known, host: KnownHosts.Host, key: Uint8Array): Verdict => {
  if (policy === false) return accept
  const { file } = known
  const offered = `${KnownHosts.keyTypeOf(key)} key ${KnownHosts.fingerprint(key)}`
  const name = KnownHosts.hostName(host.host, host.port)
  const found = KnownHosts.lookup(known.entries, host, key)
  switch (found._tag) {
    case "Match":
      return accept
    case "Revoked":
      return { _tag: "Refuse", reason: `the host key of ${name} (${offered}) is marked @revoked in ${file}` }
    case "Mismatch": {
      const listed = found.known.map((k) => `${k.keyType} key ${k.fingerprint} (line ${k.line})`).join(", ")
      return {
        _tag: "Refuse",
        reason:
          `REMOTE HOST IDENTIFICATION HAS CHANGED: the host key of ${name} has changed. ` +
          `The server offered ${offered}; ${file} has ${listed}. If the change is expected, remove the old ` +
          `entry with \`ssh-keygen -R "${KnownHosts.hostName(host.ip ?? host.host, host.port)}" -f ${file}\``
      }
    }
    case "Unknown": {
      if (policy === "accept-new") {
        return { _tag: "Record", line: KnownHosts.formatLine(host.ip ?? host.host, host.port, key) }
      }
      const keyscan = `ssh-keyscan ${host.port === 22 ? "" : `-p ${host.port} `}${host.host} >> ${file}`
      return {
        _tag: "Refuse",
        reason:
          `the host ${name} is not in ${file} (it offered ${offered}). Check the fingerprint, then add it with ` +
          `\`${keyscan}\`, or connect with strictHostKeyChecking: "accept-new"`
      }
    }
  }
}

/**
 * python-fleet's message when strict checking has no file to check against.
 *
 * @since 0.2.0
 * @internal
 */
export const missingFile = (file: string): string =>
  `Strict Host Key Checking is enabled, but hosts file (${file}) does not exist or is unreadable.`

// The handshake can only verify a key type the file lists, so those are asked for first, as OpenSSH does.
const hostKeyAlgorithms = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa"
] as const

const algorithmsFor = (keyType: string): ReadonlyArray<string> =>
  keyType === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [keyType]

/**
 * The host key algorithms to offer, those the file lists for the host first.
 *
 * @since 0.2.0
 * @internal
 */
export const preferredAlgorithms = (known: Known, host: KnownHosts.Host): Array<Ssh2.ServerHostKeyAlgorithm> => {
  const first = new Set(KnownHosts.knownKeyTypes(known.entries, host).flatMap(algorithmsFor))
  return [
    ...hostKeyAlgorithms.filter((algorithm) => first.has(algorithm)),
    ...hostKeyAlgorithms.filter((algorithm) => !first.has(algorithm))
  ]
}
