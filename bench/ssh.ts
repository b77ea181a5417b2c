/**
 * The price of the SSH tunnel: N sequential `Fleet.getUnit` calls through one SSH connection (a `direct-tcpip`
 * channel per pooled HTTP connection, one handshake for the whole run) against the same calls made directly, to the
 * same local fleet server, behind a real OpenSSH `sshd` on loopback. Run with `npx node bench/ssh.ts`
 * (`BENCH_CALLS`, `BENCH_ROUNDS` override the defaults).
 */
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Endpoint from "../src/Endpoint.ts"
import * as Fleet from "../src/Fleet.ts"
import * as FleetServer from "../src/FleetServer.ts"
import * as FleetSsh from "../src/FleetSsh.ts"
import * as Unit from "../src/Unit.ts"
import { establishedOn, sshdAvailable, startSshd } from "../test/support/sshd.ts"

const calls = Number(process.env.BENCH_CALLS ?? 500)
const rounds = Number(process.env.BENCH_ROUNDS ?? 7)

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

const time = async (run: () => Promise<unknown>) => {
  const start = performance.now()
  await run()
  return performance.now() - start
}

/** One warm-up each, then `rounds` back-to-back pairs, alternating which side goes first. */
const paired = async (tunnel: () => Promise<unknown>, direct: () => Promise<unknown>) => {
  await tunnel()
  await direct()
  const tunnelTimes: Array<number> = []
  const directTimes: Array<number> = []
  const ratios: Array<number> = []
  for (let i = 0; i < rounds; i++) {
    let t: number
    let d: number
    if (i % 2 === 0) {
      t = await time(tunnel)
      d = await time(direct)
    } else {
      d = await time(direct)
      t = await time(tunnel)
    }
    tunnelTimes.push(t)
    directTimes.push(d)
    ratios.push(t / d)
  }
  return { tunnel: median(tunnelTimes), direct: median(directTimes), ratio: median(ratios) }
}
const name = "bench-ssh.service"

if (!sshdAvailable()) {
  console.error("bench/ssh.ts needs OpenSSH's sshd at /usr/sbin/sshd (apt-get install openssh-server)")
  process.exit(1)
}

const sshd = await startSshd()
const server = ManagedRuntime.make(FleetServer.layer({ port: 0, socketPath: path.join(sshd.dir, "fleet.sock") }))
try {
  const fleet = await server.runPromise(
    Effect.gen(function* () {
      return yield* FleetServer.FleetServer
    })
  )
  const direct = `http://127.0.0.1:${fleet.port}`
  const knownHosts = path.join(sshd.dir, "known_hosts")
  const [type, key] = sshd.hostPublicKey.split(" ")
  fs.writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${type} ${key}\n`)

  const tunneled = (input: string) =>
    Layer.unwrap(
      Effect.map(Endpoint.parse(input), (endpoint) =>
        Fleet.layerHttpClient({ baseUrl: endpoint.baseUrl, endpoint: input }).pipe(
          Layer.provide(
            FleetSsh.layer({
              tunnel: `127.0.0.1:${sshd.port}`,
              endpoint,
              username: "root",
              agent: "",
              privateKey: Redacted.make(sshd.userPrivateKey),
              knownHostsFile: knownHosts
            })
          )
        )
      )
    )
  const directRuntime = ManagedRuntime.make(Fleet.layer(direct))
  const tcpRuntime = ManagedRuntime.make(tunneled(direct))
  const unixRuntime = ManagedRuntime.make(tunneled(`unix://${fleet.socketPath}`))
  const unit = Unit.make({
    options: [new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" })]
  })
  await directRuntime.runPromise(Fleet.createUnit(name, unit))

  const getAll = (runtime: typeof directRuntime) => () =>
    runtime.runPromise(Effect.repeat(Fleet.getUnit(name), { times: calls - 1 }))

  const report = (label: string, result: Awaited<ReturnType<typeof paired>>) => {
    const per = (ms: number) => `${((ms * 1000) / calls).toFixed(0)} µs/call`
    console.log(
      `${label.padEnd(24)} tunnel ${result.tunnel.toFixed(1)} ms (${per(result.tunnel)})  direct ` +
        `${result.direct.toFixed(1)} ms (${per(result.direct)})  ratio ${result.ratio.toFixed(2)}x`
    )
  }

  console.log(`${calls} sequential getUnit calls per round, medians of ${rounds} rounds`)
  report("via direct-tcpip", await paired(getAll(tcpRuntime), getAll(directRuntime)))
  report("via direct-streamlocal", await paired(getAll(unixRuntime), getAll(directRuntime)))
  // Both tunnel runtimes are still open: one SSH connection each, however many calls went through them.
  console.log(`SSH connections open on sshd's port after the runs: ${establishedOn(sshd.port)} (one per tunnel layer)`)
  await tcpRuntime.dispose()
  await unixRuntime.dispose()
  await directRuntime.dispose()
} finally {
  await server.dispose()
  await sshd.stop()
}
