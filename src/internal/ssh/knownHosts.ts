/**
 * OpenSSH known_hosts files as fleetctl and OpenSSH read them, and appending in fleetctl's format so that fleetctl
 * and effect-fleet can share one file.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto"
import { constants as fsConstants } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"

/**
 * One usable line of a known_hosts file.
 *
 * @since 0.2.0
 * @internal
 */
export interface Entry {
  readonly line: number
  readonly marker: "revoked" | "cert-authority" | undefined
  readonly hosts: HostField
  readonly keyType: string
  readonly key: Buffer
}

/**
 * The host field: either comma-separated patterns or one hashed host.
 *
 * @since 0.2.0
 * @internal
 */
export type HostField =
  | { readonly _tag: "Patterns"; readonly patterns: ReadonlyArray<string> }
  | { readonly _tag: "Hashed"; readonly salt: Buffer; readonly hash: Buffer }

/**
 * A key the file holds for a host.
 *
 * @since 0.2.0
 * @internal
 */
export interface KnownKey {
  readonly keyType: string
  readonly fingerprint: string
  readonly line: number
}

/**
 * The outcome of looking a host's offered key up.
 *
 * @since 0.2.0
 * @internal
 */
export type Lookup =
  | { readonly _tag: "Match" }
  | { readonly _tag: "Mismatch"; readonly known: ReadonlyArray<KnownKey> }
  | { readonly _tag: "Revoked" }
  | { readonly _tag: "Unknown" }

/**
 * The names a host may be listed under: as the user wrote it and as the address it resolved to.
 *
 * @since 0.2.0
 * @internal
 */
export interface Host {
  readonly host: string
  readonly ip?: string | undefined
  readonly port: number
}

const base64 = /^[A-Za-z0-9+/]+={0,2}$/

const parseHostField = (field: string): HostField | undefined => {
  if (field.startsWith("|1|")) {
    const [salt, hash] = field.slice(3).split("|")
    if (salt === undefined || hash === undefined || !base64.test(salt) || !base64.test(hash)) return undefined
    return { _tag: "Hashed", salt: Buffer.from(salt, "base64"), hash: Buffer.from(hash, "base64") }
  }
  // Another hash scheme than |1| cannot be checked, so such a line names no host rather than every host.
  if (field.startsWith("|")) return undefined
  const patterns = field.split(",").filter((pattern) => pattern.length > 0)
  return patterns.length === 0 ? undefined : { _tag: "Patterns", patterns }
}

/**
 * Parses a known_hosts file, skipping blank lines, comments and lines it cannot use.
 *
 * @since 0.2.0
 * @internal
 */
export const parse = (text: string): ReadonlyArray<Entry> => {
  const entries: Array<Entry> = []
  const lines = text.split(/\r?\n/)
  for (let index = 0; index < lines.length; index++) {
    const trimmed = (lines[index] ?? "").trim()
    if (trimmed === "" || trimmed.startsWith("#")) continue
    const fields = trimmed.split(/[ \t]+/)
    let marker: Entry["marker"]
    if (fields[0]?.startsWith("@")) {
      const name = fields.shift()
      if (name === "@revoked") marker = "revoked"
      else if (name === "@cert-authority") marker = "cert-authority"
      else continue
    }
    const [hostField, keyType, keyText] = fields
    if (hostField === undefined || keyType === undefined || keyText === undefined || !base64.test(keyText)) continue
    const hosts = parseHostField(hostField)
    if (hosts === undefined) continue
    entries.push({ line: index + 1, marker, hosts, keyType, key: Buffer.from(keyText, "base64") })
  }
  return entries
}

/**
 * OpenSSH's wildcard match: `*` any run of characters, `?` exactly one.
 *
 * @since 0.2.0
 * @internal
 */
export const matchPattern = (text: string, pattern: string): boolean => {
  let t = 0
  let p = 0
  let starP = -1
  let starT = 0
  while (t < text.length) {
    const c = pattern[p]
    if (c === "*") {
      starP = p++
      starT = t
    } else if (c !== undefined && (c === "?" || c === text[t])) {
      p++
      t++
    } else if (starP !== -1) {
      p = starP + 1
      t = ++starT
    } else {
      return false
    }
  }
  while (pattern[p] === "*") p++
  return p === pattern.length
}

/**
 * The name a host is listed under: bare for port 22, `[host]:port` otherwise.
 *
 * @since 0.2.0
 * @internal
 */
export const hostName = (host: string, port: number): string => (port === 22 ? host : `[${host}]:${port}`)

const matchesName = (hosts: HostField, name: string): boolean => {
  // OpenSSH lowercases the host name before hashing or matching it; the entries it wrote only match that way.
  const lower = name.toLowerCase()
  if (hosts._tag === "Hashed") {
    const digest = createHmac("sha1", hosts.salt).update(lower).digest()
    return digest.length === hosts.hash.length && timingSafeEqual(digest, hosts.hash)
  }
  let matched = false
  for (const pattern of hosts.patterns) {
    const negated = pattern.startsWith("!")
    const glob = (negated ? pattern.slice(1) : pattern).toLowerCase()
    if (matchPattern(lower, glob)) {
      // A matching negation wins over every positive pattern on the line, as in OpenSSH.
      if (negated) return false
      matched = true
    }
  }
  return matched
}

/**
 * Whether an entry's host field names the host, under its given name or its address.
 *
 * @since 0.2.0
 * @internal
 */
export const matchesHost = (entry: Entry, host: Host): boolean =>
  names(host).some((name) => matchesName(entry.hosts, name))

const names = (host: Host): ReadonlyArray<string> => {
  const given = hostName(host.host, host.port)
  if (host.ip === undefined || host.ip === host.host) return [given]
  return [given, hostName(host.ip, host.port)]
}

/**
 * The key type written at the start of an SSH public key blob.
 *
 * @since 0.2.0
 * @internal
 */
export const keyTypeOf = (blob: Uint8Array): string => {
  const buffer = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength)
  if (buffer.length < 4) return "unknown"
  const length = buffer.readUInt32BE(0)
  return buffer.length < 4 + length ? "unknown" : buffer.subarray(4, 4 + length).toString("latin1")
}

/**
 * OpenSSH's SHA256 fingerprint: `SHA256:` and the unpadded base64 of the key blob's digest.
 *
 * @since 0.2.0
 * @internal
 */
export const fingerprint = (blob: Uint8Array): string =>
  `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`

/**
 * Looks the offered key up for the host: a revoked key is refused even when another line lists it as known.
 *
 * @since 0.2.0
 * @internal
 */
export const lookup = (entries: ReadonlyArray<Entry>, host: Host, blob: Uint8Array): Lookup => {
  const offered = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength)
  const known: Array<KnownKey> = []
  let matched = false
  for (const entry of entries) {
    if (entry.marker === "cert-authority" || !matchesHost(entry, host)) continue
    const same = entry.key.equals(offered)
    if (entry.marker === "revoked") {
      if (same) return { _tag: "Revoked" }
      continue
    }
    if (same) matched = true
    else known.push({ keyType: entry.keyType, fingerprint: fingerprint(entry.key), line: entry.line })
  }
  if (matched) return { _tag: "Match" }
  return known.length > 0 ? { _tag: "Mismatch", known } : { _tag: "Unknown" }
}

/**
 * The key types the file lists for a host, so the handshake can ask the server for a key that can be checked.
 *
 * @since 0.2.0
 * @internal
 */
export const knownKeyTypes = (entries: ReadonlyArray<Entry>, host: Host): ReadonlyArray<string> => {
  const types = new Set<string>()
  for (const entry of entries) {
    if (entry.marker === undefined && matchesHost(entry, host)) types.add(entry.keyType)
  }
  return [...types]
}

/**
 * A line in fleetctl's format: the resolved address (bracketed with the port when it is not 22), type, key.
 *
 * @since 0.2.0
 * @internal
 */
export const formatLine = (ip: string, port: number, blob: Uint8Array): string =>
  `${hostName(ip, port)} ${keyTypeOf(blob)} ${Buffer.from(blob).toString("base64")}\n`

/**
 * Reads a known_hosts file; `undefined` only when it does not exist. Any other failure (a folder in its place, no
 * permission) rejects with a `KnownHostsUnreadable`: read as empty, accept-new would append a host already listed.
 *
 * @since 0.2.0
 * @internal
 */
export const readFile = async (file: string): Promise<string | undefined> => {
  try {
    return await fs.readFile(file, "utf8")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw new KnownHostsUnreadable(file, error)
  }
}

/**
 * A known_hosts file that exists but cannot be read.
 *
 * @since 0.2.0
 * @internal
 */
export class KnownHostsUnreadable extends Error {
  readonly file: string
  constructor(file: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code
    super(`the hosts file ${file} cannot be read${code === undefined ? "" : ` (${code})`}`, { cause })
    this.name = "KnownHostsUnreadable"
    this.file = file
  }
}

/**
 * Appends a line as fleetctl does: missing folders created 0700, a missing file created 0644, existing content
 * never rewritten.
 *
 * @since 0.2.0
 * @internal
 */
export const appendLine = async (file: string, line: string): Promise<void> => {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  const handle = await fs.open(file, fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_RDWR, 0o644)
  try {
    const { size } = await handle.stat()
    let prefix = ""
    if (size > 0) {
      // A file whose last line lacks its newline would otherwise swallow the new entry.
      const last = Buffer.alloc(1)
      await handle.read(last, 0, 1, size - 1)
      if (last[0] !== 0x0a) prefix = "\n"
    }
    await handle.write(prefix + line)
  } finally {
    await handle.close()
  }
}

// Writers of one file in this process take turns here, so that only writers in other processes meet at the lock.
const turns = new Map<string, Promise<void>>()

const inTurn = <A>(key: string, task: () => Promise<A>): Promise<A> => {
  const run = (turns.get(key) ?? Promise.resolve()).then(task)
  const done = run.then(
    () => {},
    () => {}
  )
  turns.set(key, done)
  void done.then(() => {
    if (turns.get(key) === done) turns.delete(key)
  })
  return run
}

// A writer holds the lock for a read and an append: milliseconds. One this old was left by a writer that died.
const staleLockMs = 10_000
const lockWaitMs = 10_000

const ageOf = (file: string): Promise<number> =>
  fs.stat(file).then(
    (stat) => Date.now() - stat.mtimeMs,
    () => 0
  )

/**
 * Removes a stale lock so that the next exclusive create can take it; `false` when another writer is doing so.
 * Two writers may find the lock stale at once, and a plain unlink by the second would delete the lock the first had
 * just created: so the stale lock is only removed under `<lock>.takeover`, created exclusively, after checking again
 * that it is still stale. Only a takeover removes another writer's lock, so the check cannot be overtaken.
 */
const takeOver = async (lockFile: string): Promise<boolean> => {
  const guard = `${lockFile}.takeover`
  try {
    await (await fs.open(guard, "wx", 0o600)).close()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    // A takeover lasts a few system calls: one this old was left by a writer that died in the middle of it.
    if ((await ageOf(guard)) > staleLockMs) await fs.rm(guard, { force: true })
    return false
  }
  try {
    if ((await ageOf(lockFile)) > staleLockMs) await fs.rm(lockFile, { force: true })
    return true
  } finally {
    await fs.rm(guard, { force: true })
  }
}

/** Takes `<file>.lock`; `false` where no lock file can be made (a read-only folder), so writing goes unlocked. */
const lock = async (file: string): Promise<boolean> => {
  const lockFile = `${file}.lock`
  const started = Date.now()
  for (let attempt = 0; ; attempt++) {
    try {
      await (await fs.open(lockFile, "wx", 0o600)).close()
      return true
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === "EACCES" || code === "EPERM" || code === "EROFS") return false
      if (code !== "EEXIST") throw error
    }
    if ((await ageOf(lockFile)) > staleLockMs && (await takeOver(lockFile))) continue
    if (Date.now() - started > lockWaitMs) throw new Error(`${lockFile} is held by another writer`)
    await sleep(Math.min(50, 2 ** attempt) + Math.random() * 5)
  }
}

/**
 * Runs `change` with the file to itself: writers in this process take turns, writers in other processes (another
 * effect-fleet, or anything honouring `<file>.lock`) wait for the lock file, created exclusively. `change` should
 * read the file afresh, so that what another writer just added is seen: the file is only ever appended to, never
 * rewritten, so nothing in it can be lost or truncated.
 *
 * @since 0.2.0
 * @internal
 */
export const exclusive = <A>(file: string, change: () => Promise<A>): Promise<A> =>
  inTurn(path.resolve(file), async () => {
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
    const locked = await lock(file)
    try {
      return await change()
    } finally {
      if (locked) await fs.rm(`${file}.lock`, { force: true })
    }
  })
