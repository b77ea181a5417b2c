/**
 * A tiny HTTP server on loopback TCP and on a unix socket at once, counting the connections it accepts so tests
 * can tell keep-alive reuse from one-connection-per-request. Stands in for fleet where only transport matters.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"

export interface TinyServer {
  readonly port: number
  readonly socketPath: string
  readonly connections: () => number
  /** The connections open now. */
  readonly open: () => number
  /** Requests whose answer the test releases by calling the returned function. */
  readonly hold: (pathname: string) => Promise<void>
  readonly close: () => Promise<void>
}

export const startTinyServer = async (): Promise<TinyServer> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-http-"))
  const socketPath = path.join(dir, "fleet.sock")
  let connections = 0
  const sockets = new Set<import("node:net").Socket>()
  const held = new Map<string, () => void>()
  const arrived = new Map<string, () => void>()
  const handler: http.RequestListener = (request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost")
    const answer = () => {
      const body = JSON.stringify({ path: url.pathname, method: request.method })
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
      response.end(body)
    }
    if (url.pathname.startsWith("/hold/")) {
      held.set(url.pathname, answer)
      arrived.get(url.pathname)?.()
      return
    }
    answer()
  }
  const servers = [http.createServer(handler), http.createServer(handler)]
  for (const server of servers) {
    server.on("connection", (socket) => {
      connections++
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    })
  }
  const [tcp, unix] = servers as [http.Server, http.Server]
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve))
  await new Promise<void>((resolve) => unix.listen(socketPath, resolve))
  const address = tcp.address()
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    socketPath,
    connections: () => connections,
    open: () => sockets.size,
    hold: (pathname) =>
      new Promise((resolve) => {
        if (held.has(pathname)) resolve()
        else arrived.set(pathname, resolve)
      }),
    close: async () => {
      for (const server of servers) {
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
