package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;

import java.nio.file.Files;
import java.nio.file.Path;

/** Certificates for the HTTPS servers of the end-to-end tests (hosts URL, directory). */
final class Pki {
    private Pki() {}

    /**
     * A throwaway CA ({@code ca.pem}) and a server certificate ({@code cert.pem}, {@code key.pem})
     * whose only subject alternative name is the IP address {@code ip}, made with openssl in {@code dir}.
     */
    static void certificates(Lab lab, String ns, Path dir, String ip) throws Exception {
        String d = dir.toString();
        lab.sh(ns, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", d + "/ca.key", "-out", d + "/ca.pem", "-days", "2", "-subj", "/CN=patchcord lab CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
        lab.sh(ns, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", d + "/key.pem", "-out", d + "/server.csr", "-subj", "/CN=patchcord lab server");
        Files.writeString(dir.resolve("server.ext"), "subjectAltName = IP:" + ip + "\nextendedKeyUsage = serverAuth\n");
        lab.sh(ns, "openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
                "-set_serial", "2", "-days", "2", "-extfile", d + "/server.ext", "-out", d + "/cert.pem");
    }
}
