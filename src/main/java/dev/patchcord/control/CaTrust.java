package dev.patchcord.control;

import dev.patchcord.core.udptun.HostsException;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The certificate authorities trusted for {@code --hosts-url}: PEM certificates from a file (one or
 * more) and/or every PEM file in a directory, replacing the JDK's own list. Host names are still
 * verified by the HTTP client; udptun's patched TLS stack skipped that check.
 */
public final class CaTrust {
    private CaTrust() {}

    /** An SSL context trusting only the given CAs, or null (the JDK default) when neither is given. */
    public static SSLContext context(Path caFile, Path caPath) throws HostsException {
        if (caFile == null && caPath == null) {
            return null;
        }
        List<Certificate> certs = new ArrayList<>();
        if (caFile != null) {
            List<Certificate> read = read(caFile);
            if (read.isEmpty()) {
                throw new HostsException("no PEM certificate in CA file " + caFile);
            }
            certs.addAll(read);
        }
        if (caPath != null) {
            if (!Files.isDirectory(caPath)) {
                throw new HostsException("CA path " + caPath + " is not a directory");
            }
            try (Stream<Path> files = Files.list(caPath)) {
                for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                    try {
                        certs.addAll(read(f));
                    } catch (HostsException e) {
                        // OpenSSL's CA directories hold other files too (CRLs, keys); only certificates count.
                    }
                }
            } catch (IOException e) {
                throw new HostsException("cannot list CA path " + caPath + ": " + e.getMessage());
            }
            if (certs.isEmpty()) {
                throw new HostsException("no PEM certificate in CA path " + caPath);
            }
        }
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            for (int i = 0; i < certs.size(); i++) {
                store.setCertificateEntry("ca" + i, certs.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new HostsException("cannot build the CA trust store: " + e.getMessage());
        }
    }

    private static List<Certificate> read(Path file) throws HostsException {
        try (InputStream in = Files.newInputStream(file)) {
            return new ArrayList<>(CertificateFactory.getInstance("X.509").generateCertificates(in));
        } catch (IOException e) {
            throw new HostsException("cannot read CA file " + file + ": " + e.getMessage());
        } catch (CertificateException e) {
            throw new HostsException("CA file " + file + " is not PEM certificates: " + e.getMessage());
        }
    }
}
