import { describe, expect, it } from "@effect/vitest"
import { execFileSync, spawn } from "node:child_process"
import { createHmac, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { createRequire, syncBuiltinESMExports } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import * as KnownHosts from "../src/internal/ssh/knownHosts.ts"
import { addOnce } from "./support/knownHostsWriter.ts"
import { openssh } from "./support/sshServer.ts"

// Two real ed25519 public key blobs (base64 as in a .pub file).
const keyA = "AAAAC3NzaC1lZDI1NTE5AAAAIDbLYfLfDAFRnBmcPjUozmHz7gbLNMu6WSZDN0sKdrJT"
const keyB = "AAAAC3NzaC1lZDI1NTE5AAAAIHPmH0c+fWBUxYc2H3a0O2vTG6KcGw0Hj7cZRpB0vr7w"
const blobA = Buffer.from(keyA, "base64")
const blobB = Buffer.from(keyB, "base64")

const hashed = (name: string) => {
  const salt = randomBytes(20)
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`
}

const lookup = (text: string, host: KnownHosts.Host, blob: Uint8Array) =>
  KnownHosts.lookup(KnownHosts.parse(text), host, blob)._tag

describe("knownHosts", () => {
  it("skips blank lines, comments, unknown markers and malformed lines", () => {
    const entries = KnownHosts.parse(
      [
        "",
        "   ",
        "# comment",
        "@unknown-marker host ssh-ed25519 " + keyA,
        "onlyhost",
        "host ssh-ed25519 not*base64",
        `  host1 ssh-ed25519 ${keyA} a comment`
      ].join("\n")
    )
    expect(entries).toHaveLength(1)
    expect(entries[0]?.line).toBe(7)
    expect(entries[0]?.keyType).toBe("ssh-ed25519")
  })

  it("matches a listed key and reports a different one as a mismatch with the known fingerprints", () => {
    const host = { host: "fleet.example", port: 22 }
    expect(lookup(`fleet.example ssh-ed25519 ${keyA}`, host, blobA)).toBe("Match")
    const result = KnownHosts.lookup(KnownHosts.parse(`fleet.example ssh-ed25519 ${keyA}`), host, blobB)
    expect(result).toEqual({
      _tag: "Mismatch",
      known: [{ keyType: "ssh-ed25519", fingerprint: KnownHosts.fingerprint(blobA), line: 1 }]
    })
    expect(lookup(`other.example ssh-ed25519 ${keyA}`, host, blobA)).toBe("Unknown")
  })

  it("patterns: comma lists, * and ?, case-insensitive, negation wins", () => {
    const host = (name: string) => ({ host: name, port: 22 })
    const text = `a.example,*.fleet.example,node?.lan,!bad.fleet.example ssh-ed25519 ${keyA}`
    expect(lookup(text, host("a.example"), blobA)).toBe("Match")
    expect(lookup(text, host("X.Fleet.Example"), blobA)).toBe("Match")
    expect(lookup(text, host("node7.lan"), blobA)).toBe("Match")
    expect(lookup(text, host("node17.lan"), blobA)).toBe("Unknown")
    expect(lookup(text, host("bad.fleet.example"), blobA)).toBe("Unknown")
    expect(lookup(`!a.example ssh-ed25519 ${keyA}`, host("a.example"), blobA)).toBe("Unknown")
    expect(KnownHosts.matchPattern("abc", "a*c")).toBe(true)
    expect(KnownHosts.matchPattern("ac", "a?c")).toBe(false)
    expect(KnownHosts.matchPattern("aXYc", "a*?c")).toBe(true)
  })

  it("[host]:port for other ports, the bare host for port 22", () => {
    expect(lookup(`[10.0.0.5]:2222 ssh-ed25519 ${keyA}`, { host: "10.0.0.5", port: 2222 }, blobA)).toBe("Match")
    expect(lookup(`[10.0.0.5]:2222 ssh-ed25519 ${keyA}`, { host: "10.0.0.5", port: 22 }, blobA)).toBe("Unknown")
    expect(lookup(`10.0.0.5 ssh-ed25519 ${keyA}`, { host: "10.0.0.5", port: 2222 }, blobA)).toBe("Unknown")
    expect(lookup(`10.0.0.5 ssh-ed25519 ${keyA}`, { host: "10.0.0.5", port: 22 }, blobA)).toBe("Match")
    expect(lookup(`[10.0.0.*]:2222 ssh-ed25519 ${keyA}`, { host: "10.0.0.9", port: 2222 }, blobA)).toBe("Match")
  })

  it("looks the host up by its name and by its resolved address (fleetctl writes addresses)", () => {
    const host = { host: "core-1.example", ip: "10.0.0.5", port: 2222 }
    expect(lookup(`[10.0.0.5]:2222 ssh-ed25519 ${keyA}`, host, blobA)).toBe("Match")
    expect(lookup(`[core-1.example]:2222 ssh-ed25519 ${keyA}`, host, blobA)).toBe("Match")
    expect(lookup(`[10.0.0.6]:2222 ssh-ed25519 ${keyA}`, host, blobA)).toBe("Unknown")
  })

  it("hashed |1|salt|hash entries, with [host]:port hashed when the port is not 22", () => {
    expect(lookup(`${hashed("fleet.example")} ssh-ed25519 ${keyA}`, { host: "fleet.example", port: 22 }, blobA)).toBe(
      "Match"
    )
    expect(
      lookup(`${hashed("[10.0.0.5]:2222")} ssh-ed25519 ${keyA}`, { host: "x", ip: "10.0.0.5", port: 2222 }, blobA)
    ).toBe("Match")
    expect(lookup(`${hashed("10.0.0.5")} ssh-ed25519 ${keyA}`, { host: "10.0.0.5", port: 2222 }, blobA)).toBe("Unknown")
    expect(lookup(`${hashed("fleet.example")} ssh-ed25519 ${keyA}`, { host: "fleet.example", port: 22 }, blobB)).toBe(
      "Mismatch"
    )
  })

  it("host names are lowercased before hashing and matching, as OpenSSH does", () => {
    const entry = `${hashed("fleet.example")} ssh-ed25519 ${keyA}`
    expect(lookup(entry, { host: "Fleet.EXAMPLE", port: 22 }, blobA)).toBe("Match")
    expect(
      lookup(`${hashed("[fleet.example]:2222")} ssh-ed25519 ${keyA}`, { host: "FLEET.example", port: 2222 }, blobA)
    ).toBe("Match")
    expect(lookup(`Fleet.Example ssh-ed25519 ${keyA}`, { host: "fleet.EXAMPLE", port: 22 }, blobA)).toBe("Match")
    expect(lookup(entry, { host: "Fleet.EXAMPLE", port: 22 }, blobB)).toBe("Mismatch")
  })

  it("@revoked refuses a key even when a plain line lists it; @cert-authority lines are ignored for plain keys", () => {
    const host = { host: "fleet.example", port: 22 }
    expect(lookup(`fleet.example ssh-ed25519 ${keyA}\n@revoked * ssh-ed25519 ${keyA}`, host, blobA)).toBe("Revoked")
    expect(lookup(`fleet.example ssh-ed25519 ${keyA}\n@revoked * ssh-ed25519 ${keyB}`, host, blobA)).toBe("Match")
    expect(lookup(`@cert-authority *.example ssh-ed25519 ${keyA}`, host, blobA)).toBe("Unknown")
    expect(
      lookup(`@cert-authority *.example ssh-ed25519 ${keyB}\nfleet.example ssh-ed25519 ${keyA}`, host, blobA)
    ).toBe("Match")
  })

  it.skipIf(!openssh.keygen())("fingerprints equal to ssh-keygen -l -E sha256 [needs OpenSSH's ssh-keygen]", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-kh-"))
    try {
      const file = path.join(dir, "key")
      execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", file])
      const [type, key] = fs.readFileSync(`${file}.pub`, "utf8").split(" ")
      const blob = Buffer.from(key ?? "", "base64")
      const expected = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${file}.pub`], { encoding: "utf8" })
      expect(KnownHosts.fingerprint(blob)).toBe(expected.split(" ")[1])
      expect(KnownHosts.fingerprint(blob)).not.toContain("=")
      expect(KnownHosts.keyTypeOf(blob)).toBe(type)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("lists the key types known for a host, so the handshake can ask for them first", () => {
    const text = `h ssh-rsa ${keyA}\nh ecdsa-sha2-nistp256 ${keyB}\n@revoked h ssh-ed25519 ${keyA}\nother ssh-ed25519 ${keyA}`
    expect(KnownHosts.knownKeyTypes(KnownHosts.parse(text), { host: "h", port: 22 })).toEqual([
      "ssh-rsa",
      "ecdsa-sha2-nistp256"
    ])
  })

  it("appends in fleetctl's format: folders 0700, file 0644, never rewriting what is there", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-kh-"))
    try {
      const file = path.join(dir, "a", ".fleetctl", "known_hosts")
      await KnownHosts.appendLine(file, KnownHosts.formatLine("10.0.0.5", 22, blobA))
      await KnownHosts.appendLine(file, KnownHosts.formatLine("::1", 2222, blobB))
      expect(fs.readFileSync(file, "utf8")).toBe(`10.0.0.5 ssh-ed25519 ${keyA}\n[::1]:2222 ssh-ed25519 ${keyB}\n`)
      expect(fs.statSync(path.join(dir, "a")).mode & 0o777).toBe(0o700)
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700)
      expect(fs.statSync(file).mode & 0o777).toBe(0o644)
      const existing = path.join(dir, "existing")
      fs.writeFileSync(existing, "# no trailing newline", { mode: 0o600 })
      await KnownHosts.appendLine(existing, KnownHosts.formatLine("10.0.0.5", 22, blobA))
      expect(fs.readFileSync(existing, "utf8")).toBe(`# no trailing newline\n10.0.0.5 ssh-ed25519 ${keyA}\n`)
      expect(fs.statSync(existing).mode & 0o777).toBe(0o600)
      expect(
        KnownHosts.lookup(KnownHosts.parse(fs.readFileSync(file, "utf8")), { host: "::1", port: 2222 }, blobB)
      ).toEqual({ _tag: "Match" })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a missing file reads as undefined; one that cannot be read (a folder in its place) is an error, not empty", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-kh-"))
    try {
      expect(await KnownHosts.readFile(path.join(dir, "missing"))).toBeUndefined()
      const folder = path.join(dir, "known_hosts")
      fs.mkdirSync(folder)
      const error = await KnownHosts.readFile(folder).then(
        () => undefined,
        (cause: unknown) => cause
      )
      expect(error).toBeInstanceOf(KnownHosts.KnownHostsUnreadable)
      expect(String(error)).toBe(`KnownHostsUnreadable: the hosts file ${folder} cannot be read (EISDIR)`)
      // accept-new's read-and-append refuses to go on rather than append to what it could not read.
      await expect(addOnce(folder, KnownHosts.formatLine("10.0.0.5", 22, blobA))).rejects.toBeInstanceOf(
        KnownHosts.KnownHostsUnreadable
      )
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  describe("concurrent writers", () => {
    const lines = (file: string) =>
      fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line !== "")

    it("20 at once in one process: each line once, none lost, every line whole", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-kh-"))
      try {
        const file = path.join(dir, ".fleetctl", "known_hosts")
        const own = Array.from({ length: 10 }, (_, i) => KnownHosts.formatLine(`10.0.0.${i}`, 22, blobA))
        const shared = KnownHosts.formatLine("10.0.1.1", 2222, blobB)
        await Promise.all([...own, ...own.map(() => shared)].map((line) => addOnce(file, line)))
        expect(lines(file)).toHaveLength(11)
        expect(new Set(lines(file)).size).toBe(11)
        expect(KnownHosts.parse(fs.readFileSync(file, "utf8"))).toHaveLength(11)
        expect(fs.existsSync(`${file}.lock`)).toBe(false)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })

    it("5 processes at once, 10 lines each and 10 tries each at one shared line: 51 lines", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-kh-"))
      try {
        const file = path.join(dir, "known_hosts")
        fs.writeFileSync(file, "# kept\n")
        const writer = path.join(import.meta.dirname, "support", "knownHostsWriter.ts")
        const startAt = Date.now() + 1500
        const exits = await Promise.all(
          Array.from(
            { length: 5 },
            (_, id) =>
              new Promise<number | null>((resolve) => {
                const child = spawn(process.execPath, [writer, file, String(id), "10", String(startAt)], {
                  stdio: ["ignore", "ignore", "inherit"]
                })
                child.once("exit", resolve)
              })
          )
        )
        expect(exits).toEqual([0, 0, 0, 0, 0])
        const written = lines(file)
        expect(written[0]).toBe("# kept")
        expect(written).toHaveLength(1 + 5 * 10 + 1)
        expect(new Set(written).size).toBe(written.length)
        expect(KnownHosts.parse(fs.readFileSync(file, "utf8"))).toHaveLength(51)
        expect(fs.existsSync(`${file}.lock`)).toBe(false)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })

    it("6 processes finding one stale lock at once: one takes it over, never two holding the lock together", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-kh-"))
      try {
        const writer = path.join(import.meta.dirname, "support", "staleLockWriter.ts")
        // Rounds make a lost race likely to show: without a guarded takeover, most rounds had two holders.
        for (let round = 0; round < 2; round++) {
          const file = path.join(dir, `known_hosts_${round}`)
          const log = path.join(dir, `log_${round}`)
          fs.writeFileSync(log, "")
          fs.writeFileSync(`${file}.lock`, "")
          const old = new Date(Date.now() - 60_000)
          fs.utimesSync(`${file}.lock`, old, old)
          const startAt = Date.now() + 1500
          const exits = await Promise.all(
            Array.from(
              { length: 6 },
              (_, id) =>
                new Promise<number | null>((resolve) => {
                  const child = spawn(process.execPath, [writer, file, String(id), String(startAt), log], {
                    stdio: ["ignore", "ignore", "inherit"]
                  })
                  child.once("exit", resolve)
                })
            )
          )
          expect(exits).toEqual([0, 0, 0, 0, 0, 0])
          const events = fs
            .readFileSync(log, "utf8")
            .split("\n")
            .filter((line) => line !== "")
          expect(events).toHaveLength(12)
          // Held by one writer at a time: every enter is followed by that writer's exit.
          for (let i = 0; i < events.length; i += 2) {
            expect(events[i + 1]).toBe(events[i]?.replace("enter", "exit"))
          }
          expect(fs.readdirSync(dir).filter((name) => name.includes(".lock"))).toEqual([])
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })

    it("a writer that found the lock stale does not delete the lock another writer took over meanwhile", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-kh-"))
      const fsp = createRequire(import.meta.url)("node:fs/promises") as typeof fs.promises
      const realStat = fsp.stat
      try {
        const file = path.join(dir, "known_hosts")
        const lockFile = `${file}.lock`
        fs.writeFileSync(lockFile, "")
        const old = new Date(Date.now() - 60_000)
        fs.utimesSync(lockFile, old, old)
        // The other writer's moves, made right after this writer saw the stale lock: it takes the lock over (a new
        // lock file) and holds it until `release`.
        let othersHold = false
        // The other writer acts once: after it lets go, later stats of the lock are this writer's own business.
        let armed = true
        let release = () => {}
        const released = new Promise<void>((resolve) => {
          release = resolve
        })
        const stat = async (...args: Parameters<typeof realStat>) => {
          const stats = await realStat(...args)
          if (args[0] === lockFile && armed) {
            armed = false
            othersHold = true
            fs.rmSync(lockFile)
            fs.writeFileSync(lockFile, "")
            void released.then(() => {
              othersHold = false
              fs.rmSync(lockFile)
            })
          }
          return stats
        }
        fsp.stat = stat as typeof realStat
        syncBuiltinESMExports()
        const heldTogether: Array<boolean> = []
        const writing = KnownHosts.exclusive(file, async () => {
          heldTogether.push(othersHold)
        })
        await new Promise((resolve) => setTimeout(resolve, 200))
        expect(heldTogether).toEqual([])
        release()
        await writing
        expect(heldTogether).toEqual([false])
      } finally {
        fsp.stat = realStat
        syncBuiltinESMExports()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })

    it("a lock left by a writer that died (older than 10 s) is taken over", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-kh-"))
      try {
        const file = path.join(dir, "known_hosts")
        fs.writeFileSync(`${file}.lock`, "")
        const old = new Date(Date.now() - 60_000)
        fs.utimesSync(`${file}.lock`, old, old)
        await addOnce(file, KnownHosts.formatLine("10.0.0.5", 22, blobA))
        expect(lines(file)).toEqual([`10.0.0.5 ssh-ed25519 ${keyA}`])
        expect(fs.existsSync(`${file}.lock`)).toBe(false)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  })
})
