package dev.patchcord.testing;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The tests' one PKI: a throwaway CA and server certificates, made with the JDK's keytool, as
 * PKCS#12 stores and as PEM files: the forms an operator hands to {@code directory serve}, a
 * hosts URL's server or an HTTPS server in the end-to-end tests.
 */
public final class TestPki {
    public static final String PASSWORD = "changeit";

    public final Path dir;

    /** A CA ({@code ca.p12}, its certificate in {@code ca.pem}) and a password file, in {@code dir}. */
    public TestPki(Path dir) throws Exception {
        this.dir = dir;
        keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-dname", "CN=patchcord test CA", "-ext", "bc:c",
                "-validity", "2", "-keystore", "ca.p12");
        keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-file", "ca.pem");
        Files.writeString(dir.resolve("password"), PASSWORD + "\n");
    }

    public Path caPem() {
        return dir.resolve("ca.pem");
    }

    public Path passwordFile() {
        return dir.resolve("password");
    }

    /** A PKCS#12 store {@code NAME.p12} with a key ("EC" or "RSA") and its chain, for 127.0.0.1 and localhost. */
    public Path leaf(String name, String keyAlgorithm) throws Exception {
        return leaf(name, keyAlgorithm, "CN=127.0.0.1", "san=ip:127.0.0.1,dns:localhost");
    }

    /**
     * A PKCS#12 store {@code NAME.p12} with a key ("EC" or "RSA") and its chain: a certificate for
     * {@code dname} signed by the CA, with the keytool extensions {@code extensions} (such as
     * {@code san=ip:10.0.0.1}).
     */
    public Path leaf(String name, String keyAlgorithm, String dname, String... extensions) throws Exception {
        String ks = name + ".p12";
        keytool("-genkeypair", "-alias", name, "-keyalg", keyAlgorithm, "-dname", dname, "-keystore", ks);
        keytool("-certreq", "-alias", name, "-keystore", ks, "-file", name + ".csr");
        List<String> gencert = new ArrayList<>(List.of("-gencert", "-alias", "ca", "-keystore", "ca.p12", "-infile",
                name + ".csr", "-outfile", name + ".pem", "-rfc", "-validity", "2"));
        for (String e : extensions) {
            gencert.addAll(List.of("-ext", e));
        }
        keytool(gencert.toArray(String[]::new));
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", ks);
        keytool("-importcert", "-alias", name, "-file", name + ".pem", "-keystore", ks);
        return dir.resolve(ks);
    }

    /** A PKCS#12 store with the CA certificate only, as a trust store is. */
    public Path certificatesOnly() throws Exception {
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", "trust.p12");
        return dir.resolve("trust.p12");
    }

    /** Writes {@code NAME-chain.pem} and {@code NAME-key.pem} (PKCS#8) from a store made by {@link #leaf}. */
    public Path[] pem(String name) throws Exception {
        KeyStore ks = load(dir.resolve(name + ".p12"));
        StringBuilder chain = new StringBuilder();
        for (Certificate c : ks.getCertificateChain(name)) {
            chain.append(block("CERTIFICATE", c.getEncoded()));
        }
        Path chainFile = Files.writeString(dir.resolve(name + "-chain.pem"), chain);
        Path keyFile = Files.writeString(dir.resolve(name + "-key.pem"), block("PRIVATE KEY", pkcs8(name)));
        return new Path[]{chainFile, keyFile};
    }

    /** The store's private key in PKCS#8 DER. */
    public byte[] pkcs8(String name) throws Exception {
        Key key = load(dir.resolve(name + ".p12")).getKey(name, PASSWORD.toCharArray());
        assertThat(key.getFormat()).isEqualTo("PKCS#8");
        return key.getEncoded();
    }

    /**
     * The algorithm-specific key inside a PKCS#8 structure (PKCS#1 for RSA, SEC1 for EC): the
     * OCTET STRING that is the third element of the outer SEQUENCE.
     */
    public static byte[] innerKey(byte[] pkcs8) {
        int[] outer = tlv(pkcs8, 0);
        int at = outer[1];
        for (int i = 0; i < 2; i++) {
            at = tlv(pkcs8, at)[2];
        }
        int[] octets = tlv(pkcs8, at);
        assertThat(pkcs8[at]).isEqualTo((byte) 0x04);
        return Arrays.copyOfRange(pkcs8, octets[1], octets[2]);
    }

    /** {tag offset, content start, content end} of the DER element at {@code at}. */
    private static int[] tlv(byte[] der, int at) {
        int len = der[at + 1] & 0xff;
        int start = at + 2;
        if (len >= 0x80) {
            int n = len & 0x7f;
            len = 0;
            for (int i = 0; i < n; i++) {
                len = len << 8 | der[start + i] & 0xff;
            }
            start += n;
        }
        return new int[]{at, start, start + len};
    }

    public static String block(String kind, byte[] der) {
        return "-----BEGIN " + kind + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + kind + "-----\n";
    }

    /** A store made here, opened with {@link #PASSWORD}. */
    public static KeyStore load(Path file) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            ks.load(in, PASSWORD.toCharArray());
        }
        return ks;
    }

    private void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-storepass", PASSWORD, "-storetype", "PKCS12"));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("keytool " + String.join(" ", args) + ": " + out).isZero();
    }
}
