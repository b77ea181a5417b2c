/**
 * Raw TCP servers that misbehave in ways a real HTTP server would not choose to: they let tests produce dropped
 * connections, truncated bodies, invalid JSON, non-fleet error pages and stalls at the byte level.
 */
import * as net from "node:net"
import { Effect } from "effect"

export interface RawServer {
  readonly port: number
  readonly url: string
  /** Connections accepted so far. */
  readonly connections: () => number
  /** Connections still open. */
  readonly open: () => number
}

const discovery = JSON.stringify({ kind: "discovery#restDescription", id: "fleet:v1", name: "fleet", version: "v1" })

export const httpResponse = (status: number, body: string, contentType = "application/json", extra = "") =>
  `HTTP/1.1 ${status} X\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`

/**
 * A loopback server that answers discovery like fleet (unless `discovery: false`) and hands every other request's first line to `onRequest`,
 * which writes whatever bytes it likes to the socket.
 */
export const rawServer = (
  onRequest: (requestLine: string, socket: net.Socket) => void,
  options: { readonly discovery?: boolean } = {}
) => {
  const sockets = new Set<net.Socket>()
  let accepted = 0
  return Effect.acquireRelease(
    Effect.callback<{ readonly server: net.Server; readonly info: RawServer }>((resume) => {
      const server = net.createServer((socket) => {
        accepted++
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => socket.destroy())
        let buffer = ""
        socket.on("data", (chunk) => {
          buffer += chunk.toString("latin1")
          for (;;) {
            const end = buffer.indexOf("\r\n\r\n")
            if (end === -1) return
            const head = buffer.slice(0, end)
            const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? "0")
            if (buffer.length < end + 4 + length) return
            buffer = buffer.slice(end + 4 + length)
            const line = head.split("\r\n")[0] ?? ""
            if (options.discovery !== false && line.includes("/fleet/v1/discovery"))
              socket.write(httpResponse(200, discovery))
            else onRequest(line, socket)
          }
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as net.AddressInfo).port
        resume(
          Effect.succeed({
            server,
            info: {
              port,
              url: `http://127.0.0.1:${port}`,
              connections: () => accepted,
              open: () => sockets.size
            }
          })
        )
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        for (const socket of sockets) socket.destroy()
      })
  ).pipe(Effect.map(({ info }) => info))
}
