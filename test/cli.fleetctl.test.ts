/**
 * effect-fleet's fleetctl commands against fleetctl itself: the same command line against the same server (the local
 * fleet server, and fleet's own API handler), compared byte for byte on stdout, stderr and the exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import {
  effectFleet,
  fleetctl,
  haveEtcd,
  haveFleetctl,
  haveTestServer,
  localServer,
  referenceServer,
  type Server,
  startEtcd
} from "./support/fleetctl.ts"

const m1 = "4f4d7a1b2c3d4e5f60718293a4b5c6d7"
const m2 = "9a8b7c6d5e4f30211203a4b5c6d7e8f9"

export const seed = {
  machines: [
    { id: m1, primaryIP: "10.0.0.1", metadata: { region: "us-east", disk: "ssd" } },
    { id: m2, primaryIP: "10.0.0.2" },
    { id: "abc" }
  ],
  units: [
    {
      name: "web@1.service",
      desiredState: "launched",
      currentState: "launched",
      machineID: m1,
      options: [
        { section: "Unit", name: "Description", value: "Web server number one with a long description" },
        { section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" }
      ]
    },
    {
      name: "idle.service",
      desiredState: "inactive",
      options: [{ section: "Service", name: "ExecStart", value: "/bin/true" }]
    },
    {
      name: "everywhere.service",
      desiredState: "launched",
      options: [
        { section: "Service", name: "ExecStart", value: "/bin/sleep 1d" },
        { section: "X-Fleet", name: "Global", value: "true" }
      ]
    },
    {
      name: "web@.service",
      desiredState: "inactive",
      options: [{ section: "Service", name: "ExecStart", value: "/usr/bin/sleep %i" }]
    }
  ],
  states: [
    {
      name: "web@1.service",
      hash: "0123456789abcdef0123456789abcdef01234567",
      machineID: m1,
      systemdLoadState: "loaded",
      systemdActiveState: "active",
      systemdSubState: "running"
    },
    {
      name: "everywhere.service",
      hash: "89abcdef0123456789abcdef0123456789abcdef",
      machineID: m2,
      systemdLoadState: "loaded",
      systemdActiveState: "activating",
      systemdSubState: "start-pre"
    },
    { name: "orphan.service", machineID: "unknownmachine123", systemdLoadState: "not-found" }
  ]
}

export const commands: ReadonlyArray<ReadonlyArray<string>> = [
  ["list-machines"],
  ["list-machines", "--full"],
  ["list-machines", "--l", "--no-legend"],
  ["list-machines", "--fields=ip,machine"],
  ["list-machines", "--fields", "metadata"],
  ["list-machines", "--fields="],
  ["list-machines", "--fields=machine,nope"],
  ["list-units"],
  ["list-units", "--full"],
  ["list-units", "--l"],
  ["list-units", "--no-legend"],
  ["list-units", "--fields=unit,hash,load,active,sub,machine"],
  ["list-units", "--fields=unit,hash", "--full"],
  ["list-units", "--fields=unit"],
  ["list-units", "--fields=bad"],
  ["list-unit-files"],
  ["list-unit-files", "--full"],
  ["list-unit-files", "--no-legend"],
  ["list-unit-files", "--fields=unit,desc,global,tmachine,dstate,state,hash,target"],
  ["list-unit-files", "--fields=tmachine,bad"],
  ["cat", "web@1.service"],
  ["cat", "web@1"],
  ["cat", "everywhere"],
  ["cat", "some/dir/idle.service"],
  ["cat", "nope"],
  ["cat"],
  ["cat", "a", "b"],
  ["verify", "x"]
]

const compare = (server: () => Server, name: string) =>
  describe(name, () => {
    for (const args of commands) {
      it(args.join(" "), async () => {
        const argv = ["--endpoint", server().url, ...args]
        const [theirs, ours] = await Promise.all([fleetctl(argv), effectFleet(argv)])
        expect(ours).toEqual(theirs)
      })
    }
  })

describe.skipIf(!haveFleetctl)("effect-fleet vs fleetctl (skipped without ../shared/tools/fleet-ref)", () => {
  let local: Server
  beforeAll(async () => {
    local = await localServer(seed)
  })
  afterAll(() => local?.close())
  compare(() => local, "against the local fleet server")

  describe.skipIf(!haveTestServer)("against fleet's own API handler", () => {
    let reference: Server
    beforeAll(async () => {
      reference = await referenceServer(seed)
    })
    afterAll(() => reference?.close())
    compare(() => reference, "fake registry")
  })

  describe.skipIf(!haveTestServer || !haveEtcd)("against fleet's own API handler over etcd", () => {
    let etcd: Awaited<ReturnType<typeof startEtcd>>
    let reference: Server
    beforeAll(async () => {
      etcd = await startEtcd()
      reference = await referenceServer(seed, etcd.url)
    })
    afterAll(async () => {
      await reference?.close()
      await etcd?.stop()
    })
    compare(() => reference, "etcd registry")
  })

  it("client errors: no scheme, a unix URL with a host, a refused connection, a missing socket", async () => {
    for (const args of [
      ["--endpoint", "foo", "list-units"],
      ["--endpoint", "unix://var/run/x.sock", "cat", "a"],
      ["--endpoint", "http://127.0.0.1:1", "list-units"],
      ["--endpoint", "http://127.0.0.1:1", "list-machines"],
      ["--endpoint", "unix:///nonexistent/fleet.sock", "list-unit-files"],
      ["--endpoint", "http://127.0.0.1:1", "cat", "x"]
    ]) {
      const [theirs, ours] = await Promise.all([fleetctl(args), effectFleet(args)])
      expect(ours).toEqual(theirs)
    }
  })

  it("fd-forward's messages: no socket given, a socket that is not there", async () => {
    for (const args of [["fd-forward"], ["fd-forward", "a", "b"], ["fd-forward", "/nonexistent/fleet.sock"]]) {
      const [theirs, ours] = await Promise.all([fleetctl(args), effectFleet(args)])
      expect(ours).toEqual(theirs)
    }
  })

  it("-l is --full (fleetctl itself only knows it as --l)", async () => {
    const server = await localServer(seed)
    try {
      for (const command of ["list-units", "list-machines"]) {
        const short = await effectFleet(["--endpoint", server.url, command, "-l"])
        const long = await effectFleet(["--endpoint", server.url, command, "--full"])
        expect(short).toEqual(long)
        expect(short.stdout).toContain(m1)
      }
    } finally {
      await server.close()
    }
  })

  it("version: fleetctl's line with effect-fleet's name and version", async () => {
    const [theirs, ours] = await Promise.all([fleetctl(["version"]), effectFleet(["version"])])
    expect(ours.stdout.replace(/ \S+\n$/, "")).toBe(
      theirs.stdout.replace(/^fleetctl/, "effect-fleet").replace(/ \S+\n$/, "")
    )
    expect(ours.code).toBe(theirs.code)
  })
})
