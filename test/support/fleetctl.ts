/**
 * Running fleetctl and effect-fleet side by side: fleet's own fleetctl and API handler from ../shared/tools/fleet-ref
 * (absent outside this workspace: callers skip), the local fleet server in-process, and effect-fleet's CLI run
 * in-process with its stdout, stderr and exit code captured.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { CliIO, makeCapture } from "../../src/cli/io.ts"
import { run } from "../../src/cli/main.ts"
import * as FleetServer from "../../src/FleetServer.ts"

const refBin = path.resolve(import.meta.dirname, "../../../shared/tools/fleet-ref/bin")
export const fleetctlPath = path.join(refBin, "fleetctl")
export const testServerPath = path.join(refBin, "fleet-api-testserver")
export const haveFleetctl = fs.existsSync(fleetctlPath)
export const haveTestServer = fs.existsSync(testServerPath)

export interface Result {
  readonly stdout: string
  readonly stderr: string
  readonly code: number
}

/** fleetctl with `args`, with no FLEETCTL_* variable from this environment. */
export const fleetctl = (args: ReadonlyArray<string>, options: { cwd?: string; timeout?: number } = {}) =>
  new Promise<Result>((resolve) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("FLEETCTL_")))
    execFile(
      fleetctlPath,
      [...args],
      { env, cwd: options.cwd, timeout: options.timeout ?? 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resolve({ stdout, stderr, code })
      }
    )
  })

/** effect-fleet's CLI in this process. `cwd` changes the process's directory for the run. */
export const effectFleet = async (
  args: ReadonlyArray<string>,
  options: { cwd?: string; tty?: boolean } = {}
): Promise<Result> => {
  const io = makeCapture(options.tty === true)
  const previous = process.cwd()
  if (options.cwd !== undefined) process.chdir(options.cwd)
  try {
    const exit = await Effect.runPromiseExit(
      run(args).pipe(Effect.provide(NodeServices.layer), Effect.provideService(CliIO, io))
    )
    return { stdout: io.out, stderr: io.err, code: Exit.isSuccess(exit) ? io.exitCode : 1 }
  } finally {
    process.chdir(previous)
  }
}

export interface Server {
  readonly url: string
  readonly close: () => Promise<void>
}

/** The local fleet server, seeded. */
export const localServer = async (seed: unknown, agents: "off" | "simulated" = "off"): Promise<Server> => {
  const scope = Effect.runSync(Scope.make())
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-seed-"))
  const seedFile = path.join(dir, "seed.json")
  fs.writeFileSync(seedFile, JSON.stringify(seed))
  const server = await Effect.runPromise(Scope.provide(FleetServer.make({ port: 0, agents, seedFile }), scope))
  return { url: server.url, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

export const haveEtcd = (() => {
  try {
    fs.accessSync("/usr/bin/etcd", fs.constants.X_OK)
    return true
  } catch {
    return false
  }
})()

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** An etcd with the v2 API on loopback ports, for fleet's etcd registry; a fresh prefix is a fresh fleet. */
export const startEtcd = async (): Promise<{ readonly url: string; readonly stop: () => Promise<void> }> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-etcd-"))
  const [client, peer] = [await freePort(), await freePort()]
  const url = `http://127.0.0.1:${client}`
  const child = spawn(
    "/usr/bin/etcd",
    [
      "--enable-v2",
      "--name",
      "ref",
      "--data-dir",
      dir,
      "--listen-client-urls",
      url,
      "--advertise-client-urls",
      url,
      "--listen-peer-urls",
      `http://127.0.0.1:${peer}`,
      "--initial-advertise-peer-urls",
      `http://127.0.0.1:${peer}`,
      "--initial-cluster",
      `ref=http://127.0.0.1:${peer}`
    ],
    { stdio: ["ignore", "ignore", "pipe"] }
  )
  await new Promise<void>((resolve, reject) => {
    let text = ""
    child.stderr!.on("data", (chunk: Buffer) => {
      text += chunk.toString()
      if (text.includes("ready to serve client requests")) resolve()
    })
    child.once("exit", (code) => reject(new Error(`etcd exited with ${code}: ${text}`)))
  })
  return {
    url,
    stop: () =>
      new Promise<void>((done) => {
        child.once("exit", () => {
          fs.rmSync(dir, { recursive: true, force: true })
          done()
        })
        child.kill()
      })
  }
}

let prefixes = 0

/**
 * fleet's own API handler, seeded: over its in-memory registry, or over etcd (what fleetd serves; each server gets a
 * fresh key prefix) when `etcd` is given.
 */
export const referenceServer = (seed: unknown, etcd?: string): Promise<Server> =>
  new Promise((resolve, reject) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-seed-"))
    const seedFile = path.join(dir, "seed.json")
    fs.writeFileSync(seedFile, JSON.stringify(seed))
    const child: ChildProcess = spawn(
      testServerPath,
      [
        ...(etcd === undefined
          ? ["-registry", "fake"]
          : [
              "-registry",
              "etcd",
              "-etcd-endpoint",
              etcd,
              "-etcd-prefix",
              `/effect-fleet-${process.pid}-${++prefixes}`
            ]),
        "-addr",
        "127.0.0.1:0",
        "-seed-file",
        seedFile
      ],
      { stdio: ["ignore", "ignore", "pipe"] }
    )
    let text = ""
    child.stderr!.on("data", (chunk: Buffer) => {
      text += chunk.toString()
      const match = /on (http:\/\/[^/\s]+)\//.exec(text)
      if (match !== null) {
        resolve({
          url: match[1]!,
          close: () =>
            new Promise<void>((done) => {
              child.once("exit", () => done())
              child.kill()
            })
        })
      }
    })
    child.once("exit", (code) => reject(new Error(`fleet-api-testserver exited with ${code}: ${text}`)))
  })
