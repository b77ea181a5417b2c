/**
 * Certificates generated for a test run with the openssl CLI, and a TLS-terminating proxy that puts HTTPS in front
 * of a plain HTTP server (as a TLS proxy sits in front of fleetd).
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { Effect } from "effect"

export interface Pki {
  readonly ca: string
  readonly otherCa: string
  readonly serverCert: string
  readonly serverKey: string
  readonly clientCert: string
  readonly clientKey: string
}

const openssl = (cwd: string, ...args: Array<string>) => execFileSync("openssl", args, { cwd, stdio: "pipe" })

const makeCa = (dir: string, name: string) => {
  openssl(
    dir,
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`
  )
}

const signed = (dir: string, name: string, ca: string, ext: string) => {
  openssl(
    dir,
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`
  )
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext)
  openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`
  )
}

/** A CA, a server certificate for 127.0.0.1/localhost signed by it, a client certificate, and an unrelated CA. */
export const makePki = (): Pki => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-pki-"))
  try {
    makeCa(dir, "ca")
    makeCa(dir, "other")
    signed(dir, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    signed(dir, "client", "ca", "extendedKeyUsage=clientAuth\n")
    const read = (file: string) => fs.readFileSync(path.join(dir, file), "utf8")
    return {
      ca: read("ca.crt"),
      otherCa: read("other.crt"),
      serverCert: read("server.crt"),
      serverKey: read("server.key"),
      clientCert: read("client.crt"),
      clientKey: read("client.key")
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Serves TLS on an ephemeral loopback port and splices each connection to `target` (a TCP port). With
 * `requireClientCert`, clients must present a certificate signed by the PKI's CA.
 */
export const tlsProxy = (pki: Pki, targetPort: number, options: { readonly requireClientCert?: boolean } = {}) => {
  const sockets = new Set<net.Socket>()
  return Effect.acquireRelease(
    Effect.callback<{ readonly server: tls.Server; readonly port: number }>((resume) => {
      const server = tls.createServer(
        {
          key: pki.serverKey,
          cert: pki.serverCert,
          ca: pki.ca,
          requestCert: options.requireClientCert === true,
          rejectUnauthorized: options.requireClientCert === true
        },
        (socket) => {
          const upstream = net.connect(targetPort, "127.0.0.1")
          sockets.add(socket)
          sockets.add(upstream)
          socket.pipe(upstream).pipe(socket)
          const close = () => {
            socket.destroy()
            upstream.destroy()
          }
          socket.on("error", close).on("close", close)
          upstream.on("error", close).on("close", close)
        }
      )
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ server, port: (server.address() as net.AddressInfo).port }))
      )
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        for (const socket of sockets) socket.destroy()
      })
  )
}
