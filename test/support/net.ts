/**
 * Loopback helpers shared by the test harnesses that start real servers (sshd, etcd, fleet's reference server).
 */
import * as Effect from "effect/Effect"
import * as net from "node:net"

/** A TCP port on 127.0.0.1 that was free a moment ago: bind to it soon, and retry if another process took it. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/**
 * A TCP server on 127.0.0.1 that accepts and never says a word, counting the connections still open; closed, with
 * every connection it holds, when the scope closes.
 */
export const silentServer = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{
        readonly server: net.Server
        readonly sockets: Set<net.Socket>
        readonly port: number
        readonly open: () => number
      }>((resolve) => {
        const sockets = new Set<net.Socket>()
        const server = net.createServer((socket) => {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
          socket.on("error", () => {})
          // Reading (and dropping) the client's bytes is what lets the server see it hang up.
          socket.resume()
        })
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          const port = typeof address === "object" && address !== null ? address.port : 0
          resolve({ server, sockets, port, open: () => sockets.size })
        })
      })
  ),
  ({ server, sockets }) =>
    Effect.promise(() => {
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    })
)
