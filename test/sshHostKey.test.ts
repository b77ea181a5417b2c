/**
 * The host-key policy on its own: every verdict of `judge`, with no server and no file on disk.
 */
import { describe, expect, it } from "@effect/vitest"
import * as HostKey from "../src/internal/ssh/hostKey.ts"
import * as KnownHosts from "../src/internal/ssh/knownHosts.ts"

const keyA = "AAAAC3NzaC1lZDI1NTE5AAAAIDbLYfLfDAFRnBmcPjUozmHz7gbLNMu6WSZDN0sKdrJT"
const keyB = "AAAAC3NzaC1lZDI1NTE5AAAAIHPmH0c+fWBUxYc2H3a0O2vTG6KcGw0Hj7cZRpB0vr7w"
const blobA = Buffer.from(keyA, "base64")
const blobB = Buffer.from(keyB, "base64")
const file = "/home/core/.fleetctl/known_hosts"

const known = (text: string): HostKey.Known => ({ file, entries: KnownHosts.parse(text) })
const host = { host: "core-1.example", ip: "10.0.0.5", port: 2222 }
const refusal = (verdict: HostKey.Verdict) =>
  verdict._tag === "Refuse" ? verdict.reason : `not refused: ${verdict._tag}`

describe("hostKey.judge", () => {
  it("a listed host with its key is accepted under both checking policies", () => {
    for (const policy of [true, "accept-new"] as const) {
      expect(HostKey.judge(policy, known(`[10.0.0.5]:2222 ssh-ed25519 ${keyA}`), host, blobA)).toEqual({
        _tag: "Accept"
      })
      expect(HostKey.judge(policy, known(`[core-1.example]:2222 ssh-ed25519 ${keyA}`), host, blobA)._tag).toBe("Accept")
    }
  })

  it("strict: an unknown host is refused, naming its key and how to add it", () => {
    const reason = refusal(HostKey.judge(true, known(`other ssh-ed25519 ${keyA}`), host, blobA))
    expect(reason).toBe(
      `the host [core-1.example]:2222 is not in ${file} (it offered ssh-ed25519 key ${KnownHosts.fingerprint(blobA)}). ` +
        `Check the fingerprint, then add it with \`ssh-keyscan -p 2222 core-1.example >> ${file}\`, or connect with ` +
        `strictHostKeyChecking: "accept-new"`
    )
    const port22 = refusal(HostKey.judge(true, known(""), { host: "10.0.0.5", port: 22 }, blobA))
    expect(port22).toContain(`the host 10.0.0.5 is not in`)
    expect(port22).toContain(`\`ssh-keyscan 10.0.0.5 >> ${file}\``)
  })

  it("a changed key is refused under strict and accept-new, with both fingerprints and the line", () => {
    const text = `# header\n[10.0.0.5]:2222 ssh-ed25519 ${keyA}`
    for (const policy of [true, "accept-new"] as const) {
      const reason = refusal(HostKey.judge(policy, known(text), host, blobB))
      expect(reason).toMatch(/^REMOTE HOST IDENTIFICATION HAS CHANGED: the host key of \[core-1\.example\]:2222/)
      expect(reason).toContain(`The server offered ssh-ed25519 key ${KnownHosts.fingerprint(blobB)}`)
      expect(reason).toContain(`${file} has ssh-ed25519 key ${KnownHosts.fingerprint(blobA)} (line 2)`)
      expect(reason).toContain(`\`ssh-keygen -R "[10.0.0.5]:2222" -f ${file}\``)
    }
  })

  it("a revoked key is refused under strict and accept-new, even when a plain line lists it", () => {
    const text = `[10.0.0.5]:2222 ssh-ed25519 ${keyA}\n@revoked * ssh-ed25519 ${keyA}`
    for (const policy of [true, "accept-new"] as const) {
      expect(refusal(HostKey.judge(policy, known(text), host, blobA))).toBe(
        `the host key of [core-1.example]:2222 (ssh-ed25519 key ${KnownHosts.fingerprint(blobA)}) is marked @revoked in ${file}`
      )
    }
  })

  it("accept-new records an unknown host as fleetctl does: its address, [ip]:port when not 22", () => {
    expect(HostKey.judge("accept-new", known(""), host, blobA)).toEqual({
      _tag: "Record",
      line: `[10.0.0.5]:2222 ssh-ed25519 ${keyA}\n`
    })
    expect(HostKey.judge("accept-new", known(""), { host: "10.0.0.6", port: 22 }, blobB)).toEqual({
      _tag: "Record",
      line: `10.0.0.6 ssh-ed25519 ${keyB}\n`
    })
  })

  it("checking off accepts any key, whatever the file says", () => {
    const text = `[10.0.0.5]:2222 ssh-ed25519 ${keyA}\n@revoked * ssh-ed25519 ${keyB}`
    expect(HostKey.judge(false, known(text), host, blobB)).toEqual({ _tag: "Accept" })
    expect(HostKey.judge(false, known(""), host, blobA)).toEqual({ _tag: "Accept" })
  })

  it("asks the server for the key types the file lists for the host first", () => {
    const algorithms = HostKey.preferredAlgorithms(known(`[10.0.0.5]:2222 ssh-rsa ${keyA}`), host)
    expect(algorithms.slice(0, 3)).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"])
    expect(algorithms).toHaveLength(7)
    expect(HostKey.preferredAlgorithms(known(""), host)[0]).toBe("ssh-ed25519")
  })

  it("python-fleet's message for a missing file under strict checking", () => {
    expect(HostKey.missingFile(file)).toBe(
      `Strict Host Key Checking is enabled, but hosts file (${file}) does not exist or is unreadable.`
    )
  })
})
