package dev.patchcord.e2e;

import dev.patchcord.testing.TestPki;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Certificates for the HTTPS servers of the end-to-end tests (hosts URL, directory). */
final class Pki {
    private Pki() {}

    /**
     * A throwaway CA ({@code ca.pem}) and a server certificate ({@code cert.pem}, with the CA's
     * after it, and {@code key.pem}) whose only subject alternative name is the IP address
     * {@code ip}, made by {@link TestPki} in {@code dir}.
     */
    static void certificates(Path dir, String ip) throws Exception {
        TestPki pki = new TestPki(dir);
        pki.leaf("server", "EC", "CN=patchcord lab server", "san=ip:" + ip, "eku=serverAuth");
        Path[] pem = pki.pem("server");
        Files.move(pem[0], dir.resolve("cert.pem"), StandardCopyOption.REPLACE_EXISTING);
        Files.move(pem[1], dir.resolve("key.pem"), StandardCopyOption.REPLACE_EXISTING);
    }
}
