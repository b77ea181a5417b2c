/**
 * The differential harness: fleet's real v1 API handler (`fleet-api-testserver` from `../shared/tools/fleet-ref`,
 * over fleet's etcd registry on a private etcd) and the local server, started side by side with the same seed, and
 * the same requests sent to both.
 *
 * Everything here is started by the test and stopped by it: etcd runs on free loopback ports with a fresh data dir
 * (on tmpfs when there is one: etcd syncs every write), the reference server on a fresh key prefix, both killed and
 * cleaned up on teardown.
 */
import * as childProcess from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Exit, Scope } from "effect"
import * as FleetControl from "../../src/FleetControl.ts"
import * as FleetServer from "../../src/FleetServer.ts"
import { freePort } from "./net.ts"

const repoRoot = path.resolve(import.meta.dirname, "../..")

const executable = (file: string | undefined): string | undefined => {
  if (file === undefined || file === "") return undefined
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return file
  } catch {
    return undefined
  }
}

const onPath = (name: string): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const found = executable(path.join(dir, name))
    if (found !== undefined) return found
  }
  return undefined
}

const referenceBin = path.resolve(repoRoot, "../shared/tools/fleet-ref/bin")

const fromEnv = (name: string, fallback: () => string | undefined): string | undefined => {
  // A variable that is set is the whole answer: a wrong path skips the suite rather than quietly using another binary.
  const value = process.env[name]
  return value === undefined || value === "" ? fallback() : executable(value)
}

/** Where the reference programs are (`FLEET_REFERENCE_SERVER`, `FLEET_REFERENCE_FLEETCTL`, `ETCD_BINARY` override). */
export const binaries = (() => {
  const server = fromEnv("FLEET_REFERENCE_SERVER", () => executable(path.join(referenceBin, "fleet-api-testserver")))
  const fleetctl = fromEnv(
    "FLEET_REFERENCE_FLEETCTL",
    () =>
      (server === undefined ? undefined : executable(path.join(path.dirname(server), "fleetctl"))) ??
      executable(path.join(referenceBin, "fleetctl"))
  )
  const etcd = fromEnv("ETCD_BINARY", () => onPath("etcd") ?? executable("/usr/bin/etcd"))
  return { server, fleetctl, etcd }
})()

/** Why the differential suite cannot run here, or `undefined` when it can. */
export const skipReason: string | undefined =
  binaries.server === undefined
    ? "fleet's reference API server is absent (set FLEET_REFERENCE_SERVER, or put fleet-ref/bin in ../shared/tools)"
    : binaries.etcd === undefined
      ? "etcd is absent (apt-get install etcd-server, or set ETCD_BINARY)"
      : undefined

/** Why the fleetctl comparison cannot run here, or `undefined`. */
export const fleetctlSkipReason: string | undefined =
  skipReason ?? (binaries.fleetctl === undefined ? "fleet's fleetctl is absent" : undefined)

// ---- processes ------------------------------------------------------------------------------------------------------

// Each program runs under a small sh that kills it as soon as its stdin closes: when the test stops it, and also when
// the test process dies without running any teardown (vitest kills workers that time out).
// It also removes CLEANUP_DIR (etcd's data dir) once the program is gone, teardown or not.
const guard = [
  "exec 3<&0",
  '"$@" <&- &',
  "pid=$!",
  // Once node is gone, sh's note that the program was killed would meet a closed stderr: SIGPIPE must not stop it.
  "trap '' PIPE",
  '(read -r _ <&3; kill "$pid" 2>/dev/null) &',
  'wait "$pid"',
  "status=$?",
  'if [ -n "$CLEANUP_DIR" ]; then rm -rf "$CLEANUP_DIR"; fi',
  'exit "$status"'
].join("\n")

const spawn = (file: string, args: ReadonlyArray<string>, cleanupDir = ""): childProcess.ChildProcess =>
  childProcess.spawn("sh", ["-c", guard, "sh", file, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, CLEANUP_DIR: cleanupDir }
  })

const stop = (child: childProcess.ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.stdin?.end()
  })

/** Resolves with the first match of `pattern` on the child's stderr (and stdout), or rejects when it exits first. */
const waitFor = (child: childProcess.ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> =>
  new Promise((resolve, reject) => {
    let seen = ""
    const onData = (chunk: Buffer) => {
      seen += chunk.toString("utf8")
      const match = pattern.exec(seen)
      if (match !== null) {
        cleanup()
        resolve(match)
      }
    }
    const onExit = (code: number | null) => {
      cleanup()
      reject(new Error(`${what} exited (${code}) before it was ready:\n${seen.slice(-2000)}`))
    }
    const cleanup = () => {
      child.stderr?.off("data", onData)
      child.stdout?.off("data", onData)
      child.off("exit", onExit)
      // Keep draining, so a chatty child never blocks on a full pipe.
      child.stderr?.resume()
      child.stdout?.resume()
    }
    child.stderr?.on("data", onData)
    child.stdout?.on("data", onData)
    child.once("exit", onExit)
  })

const httpOk = (url: string): Promise<boolean> =>
  new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume()
      resolve((res.statusCode ?? 0) < 500)
    })
    req.on("error", () => resolve(false))
    req.setTimeout(1000, () => req.destroy())
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A private etcd with the v2 API on. */
export interface Etcd {
  readonly url: string
  readonly close: () => Promise<void>
}

const tmpBase = (): string => {
  try {
    fs.accessSync("/dev/shm", fs.constants.W_OK)
    return "/dev/shm"
  } catch {
    return os.tmpdir()
  }
}

export const startEtcd = async (): Promise<Etcd> => {
  for (let attempt = 0; ; attempt++) {
    const dataDir = fs.mkdtempSync(path.join(tmpBase(), "effect-fleet-etcd-"))
    const [client, peer] = [await freePort(), await freePort()]
    const clientUrl = `http://127.0.0.1:${client}`
    const peerUrl = `http://127.0.0.1:${peer}`
    const child = spawn(
      binaries.etcd!,
      [
        "--enable-v2",
        "--name",
        "fidelity",
        "--data-dir",
        dataDir,
        "--listen-client-urls",
        clientUrl,
        "--advertise-client-urls",
        clientUrl,
        "--listen-peer-urls",
        peerUrl,
        "--initial-advertise-peer-urls",
        peerUrl,
        "--initial-cluster",
        `fidelity=${peerUrl}`,
        "--log-level",
        "error"
      ],
      dataDir
    )
    child.stdout?.resume()
    child.stderr?.resume()
    const close = async () => {
      await stop(child)
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline && child.exitCode === null) {
      if (await httpOk(`${clientUrl}/v2/keys/`)) return { url: clientUrl, close }
      await sleep(50)
    }
    await close()
    // Another process may have taken a port between the probe and etcd's bind: try again with new ones.
    if (attempt >= 2) throw new Error("etcd did not start")
  }
}

/** fleet's real API handler over fleet's etcd registry, with its admin API. */
export interface Reference {
  readonly url: string
  readonly port: number
  readonly seed: (seed: unknown) => Promise<void>
  readonly reset: () => Promise<void>
  /** Switches fleet's own "cannot reach etcd" 503 on or off. */
  readonly unavailable: (on: boolean) => Promise<void>
  readonly close: () => Promise<void>
}

let prefixes = 0

export const startReference = async (etcd: Etcd, tokenLimit: number): Promise<Reference> => {
  const prefix = `/fidelity-${process.pid}-${Date.now()}-${prefixes++}`
  const child = spawn(binaries.server!, [
    "-registry",
    "etcd",
    "-etcd-endpoint",
    etcd.url,
    "-etcd-prefix",
    prefix,
    "-addr",
    "127.0.0.1:0",
    "-admin-addr",
    "127.0.0.1:0",
    "-token-limit",
    String(tokenLimit),
    "-seed=false"
  ])
  const [, port, admin] = await waitFor(
    child,
    /fleet API \(etcd\) on http:\/\/127\.0\.0\.1:(\d+)\/[\s\S]*admin API on http:\/\/127\.0\.0\.1:(\d+)\//,
    "fleet-api-testserver"
  )
  const adminCall = async (what: string, body: string) => {
    const answer = await exchange(`http://127.0.0.1:${admin}`, { method: "POST", path: what, body })
    if (answer.status !== 204) throw new Error(`reference ${what}: ${answer.status} ${answer.body}`)
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port: Number(port),
    seed: (seed) => adminCall("/seed", JSON.stringify(seed)),
    reset: () => adminCall("/reset", ""),
    unavailable: (on) => adminCall(`/unavailable?on=${on ? 1 : 0}`, ""),
    close: () => stop(child)
  }
}

/** The local server, with the agents off (fleet's reference runs no engine and no agent either). */
export interface Local {
  readonly url: string
  readonly port: number
  readonly control: FleetControl.FleetControlService
  readonly seed: (seed: unknown) => Promise<void>
  readonly reset: () => Promise<void>
  readonly unavailable: (on: boolean) => Promise<void>
  readonly close: () => Promise<void>
}

export const startLocal = async (tokenLimit: number): Promise<Local> => {
  const scope = await Effect.runPromise(Scope.make())
  const server = await Effect.runPromise(Scope.provide(FleetServer.make({ port: 0, tokenLimit, agents: "off" }), scope))
  return {
    url: server.url,
    port: server.port!,
    control: server.control,
    seed: (seed) =>
      Effect.runPromise(Effect.flatMap(FleetControl.decodeSeed(seed), (decoded) => server.control.seed(decoded))),
    reset: () => Effect.runPromise(server.control.reset),
    unavailable: (on) => Effect.runPromise(server.control.setEtcdUnavailable(on)),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

// ---- requests -------------------------------------------------------------------------------------------------------

/** One request, byte for byte: the raw target, a flat header list (names may repeat), the body. */
export interface Request {
  readonly method: string
  readonly path: string
  readonly headers?: ReadonlyArray<string> | undefined
  /** Text (sent as UTF-8) or exact bytes. */
  readonly body?: string | Uint8Array | undefined
}

/** What is compared of an answer. */
export interface Answer {
  readonly status: number
  /** How the body was delimited: `Content-Length: N`, `chunked`, or neither (read to the close). */
  readonly framing: string
  /** The `Server` header, the reference build's `git describe` suffix cut (it says `v1.0.0-15-g45224983`). */
  readonly server: string | undefined
  readonly contentType: string | undefined
  readonly location: string | undefined
  readonly body: string
}

/** No HTTP answer: `status` 0 when the connection failed, -1 when node refused to send; `body` says why. */
const failed = (status: 0 | -1, body: string): Answer => ({
  status,
  framing: "",
  server: undefined,
  contentType: undefined,
  location: undefined,
  body
})

const agents = new Map<string, http.Agent>()
const agentFor = (base: string): http.Agent => {
  let agent = agents.get(base)
  if (agent === undefined) {
    agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
    agents.set(base, agent)
  }
  return agent
}

/** Closes the kept-alive connections of every server this process talked to. */
export const closeConnections = (): void => {
  for (const agent of agents.values()) agent.destroy()
  agents.clear()
}

const headerText = (value: string | Array<string> | undefined): string | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value.join(", ") : value

/** Sends `request` to the server at `base`; a connection that closes without an answer is status 0. */
export const exchange = (base: string, request: Request): Promise<Answer> =>
  new Promise((resolve) => {
    const url = new URL(base)
    const headers = ["Host", url.host, ...(request.headers ?? [])]
    if (request.body !== undefined) headers.push("Content-Length", String(Buffer.byteLength(request.body)))
    let settled = false
    const settle = (answer: Answer) => {
      if (!settled) {
        settled = true
        resolve(answer)
      }
    }
    let req: http.ClientRequest
    try {
      req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: request.method,
          path: request.path,
          headers,
          agent: agentFor(base)
        },
        (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (chunk: Buffer) => chunks.push(chunk))
          res.on("end", () =>
            settle({
              status: res.statusCode ?? 0,
              framing:
                res.headers["transfer-encoding"] ??
                (res.headers["content-length"] === undefined ? "none" : `length ${res.headers["content-length"]}`),
              server: headerText(res.headers.server)?.replace(/^(fleetd\/v1\.0\.0)-\d+-g[0-9a-f]+$/, "$1"),
              contentType: headerText(res.headers["content-type"]),
              location: headerText(res.headers.location),
              body: Buffer.concat(chunks).toString("utf8")
            })
          )
          res.on("error", (error) => settle(failed(0, `error: ${error.message}`)))
        }
      )
    } catch (error) {
      // node refuses some targets before sending anything; both servers then "answer" the same way
      return settle(failed(-1, String(error)))
    }
    req.on("error", (error) => settle(failed(0, `connection: ${error.message}`)))
    req.end(request.body)
  })

// ---- the pair -------------------------------------------------------------------------------------------------------

/** One request whose answers differ. */
export interface Difference {
  readonly scenario: string
  readonly index: number
  readonly request: Request
  readonly reference: Answer
  readonly local: Answer
}

/** Where two texts part, with some context before: enough to see a difference in a long body. */
const window = (a: string, b: string): readonly [string, string] => {
  let at = 0
  while (at < a.length && at < b.length && a[at] === b[at]) at++
  const from = Math.max(0, at - 120)
  const cut = (text: string) => (from > 0 ? "…" : "") + text.slice(from, at + 280)
  return [cut(a), cut(b)]
}

export const describeDifference = (difference: Difference): string => {
  const { local, reference, request } = difference
  const [fleetBody, localBody] = window(reference.body, local.body)
  const head = (answer: Answer) =>
    `${answer.status} [${answer.framing}] [${answer.server ?? "no Server"}] ${answer.contentType ?? "-"}${answer.location === undefined ? "" : ` -> ${answer.location}`}`
  return [
    `${difference.scenario} #${difference.index}: ${request.method} ${request.path}`,
    request.headers === undefined ? "" : `  headers: ${JSON.stringify(request.headers)}`,
    request.body === undefined
      ? ""
      : typeof request.body === "string"
        ? `  body: ${JSON.stringify(request.body).slice(0, 400)}`
        : `  body bytes: ${Buffer.from(request.body).toString("hex").slice(0, 400)}`,
    `  fleet: ${head(reference)} ${fleetBody}`,
    `  local: ${head(local)} ${localBody}`
  ]
    .filter((line) => line !== "")
    .join("\n")
}

const same = (a: Answer, b: Answer): boolean =>
  a.status === b.status &&
  a.framing === b.framing &&
  a.server === b.server &&
  a.contentType === b.contentType &&
  a.location === b.location &&
  a.body === b.body

/** A seed and the requests to send after it. */
export interface Scenario {
  readonly name: string
  readonly seed?: unknown
  /** Runs after the reset and the seed, before the first request. */
  readonly prepare?: (() => Promise<void>) | undefined
  readonly requests: ReadonlyArray<Request>
}

/**
 * A request that may only be sent when fleet would answer it sanely; `probe` is asked of both servers first (and
 * compared like any request), and `allows` reads fleet's answer to it.
 */
export interface GuardedRequest {
  readonly request: Request
  readonly probe?: Request | undefined
  readonly allows?: ((answer: Answer) => boolean) | undefined
}

/** Both servers over the same page size. */
export interface Pair {
  readonly reference: Reference
  readonly local: Local
  readonly tokenLimit: number
  /** Requests sent to each server so far, probes of guards included. */
  readonly sent: () => number
  /** Of those, the probes guards asked. */
  readonly probes: () => number
  /** Resets and seeds both, sends every request to both in order, returns the requests whose answers differ. */
  readonly run: (scenario: Scenario) => Promise<ReadonlyArray<Difference>>
  /** Like `run`, for requests that carry a guard. */
  readonly runGuarded: (
    name: string,
    seed: unknown,
    requests: ReadonlyArray<GuardedRequest>
  ) => Promise<ReadonlyArray<Difference>>
  readonly close: () => Promise<void>
}

/**
 * Answers that are equally fleet's: where fleet picks among several right answers at random (it walks Go sets), any
 * of them is right. With several contradictory `[X-Fleet]` requirements fleet may name any one pair.
 */
export const equallyRight = (reference: Answer, local: Answer): boolean => {
  const unresolvable = '{"error":{"code":400,"message":"unresolvable requirements: peer '
  return (
    reference.status === 400 &&
    local.status === 400 &&
    reference.body.startsWith(unresolvable) &&
    local.body.startsWith(unresolvable)
  )
}

export const startPair = async (options: {
  readonly tokenLimit: number
  readonly etcd?: Etcd
  /** Also accept these answers as the same (see {@link equallyRight}). */
  readonly equivalent?: (reference: Answer, local: Answer) => boolean
}): Promise<Pair> => {
  const matches = (reference: Answer, local: Answer) =>
    same(reference, local) || (options.equivalent?.(reference, local) ?? false)
  const etcd = options.etcd ?? (await startEtcd())
  const closers: Array<() => Promise<void>> = options.etcd === undefined ? [etcd.close] : []
  try {
    const [reference, local] = await Promise.all([
      startReference(etcd, options.tokenLimit),
      startLocal(options.tokenLimit)
    ])
    closers.unshift(reference.close, local.close)
    let sent = 0
    let probes = 0
    const both = async (request: Request) => {
      const [fromReference, fromLocal] = await Promise.all([
        exchange(reference.url, request),
        exchange(local.url, request)
      ])
      sent++
      return [fromReference, fromLocal] as const
    }
    const runGuarded = async (
      name: string,
      seed: unknown,
      requests: ReadonlyArray<GuardedRequest>,
      prepare?: () => Promise<void>
    ) => {
      await Promise.all([reference.reset(), local.reset()])
      if (seed !== undefined) await Promise.all([reference.seed(seed), local.seed(seed)])
      await prepare?.()
      const differences: Array<Difference> = []
      for (const [index, { allows, probe, request }] of requests.entries()) {
        if (probe !== undefined) {
          probes++
          const [fromReference, fromLocal] = await both(probe)
          if (!matches(fromReference, fromLocal)) {
            differences.push({ scenario: name, index, request: probe, reference: fromReference, local: fromLocal })
          }
          if (allows !== undefined && !allows(fromReference)) continue
        }
        const [fromReference, fromLocal] = await both(request)
        if (!matches(fromReference, fromLocal)) {
          differences.push({ scenario: name, index, request, reference: fromReference, local: fromLocal })
        }
      }
      return differences
    }
    return {
      reference,
      local,
      tokenLimit: options.tokenLimit,
      sent: () => sent,
      probes: () => probes,
      run: (scenario) =>
        runGuarded(
          scenario.name,
          scenario.seed,
          scenario.requests.map((request) => ({ request })),
          scenario.prepare
        ),
      runGuarded,
      close: async () => {
        closeConnections()
        for (const close of closers) await close()
      }
    }
  } catch (error) {
    for (const close of closers) await close()
    throw error
  }
}

// ---- fleetctl -------------------------------------------------------------------------------------------------------

/** What one fleetctl command printed. */
export interface FleetctlRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * fleetctl's output with what varies between two runs of fleetctl itself made fixed: log timestamps, and the key its
 * "unrecognized requirement" warning names (fleetctl walks a Go map for it, in random order).
 */
export const normalizeFleetctl = (run: FleetctlRun): FleetctlRun => {
  const fix = (text: string) =>
    text
      .replace(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} /gm, "<time> ")
      .replace(
        /unrecognized requirement in \[X-Fleet\] section: ".*"$/gm,
        'unrecognized requirement in [X-Fleet] section: "<key>"'
      )
  return { code: run.code, stdout: fix(run.stdout), stderr: fix(run.stderr) }
}

/** Runs fleet's own fleetctl against `endpoint` in `cwd`. */
export const fleetctl = (endpoint: string, args: ReadonlyArray<string>, cwd: string): Promise<FleetctlRun> =>
  new Promise((resolve) => {
    childProcess.execFile(
      binaries.fleetctl!,
      ["--endpoint", endpoint, ...args],
      { cwd, timeout: 20_000, env: { PATH: process.env.PATH ?? "", HOME: cwd } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resolve({ code, stdout, stderr })
      }
    )
  })
