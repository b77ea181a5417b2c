/**
 * Loopback helpers shared by the test harnesses that start real servers (sshd, etcd, fleet's reference server).
 */
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
