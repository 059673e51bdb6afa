package dev.patchcord.control.directory;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.UnrecoverableKeyException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The directory's TLS certificate and key, as the two common forms hold them: PEM files (what
 * certbot and most CAs hand out: a chain file and a PKCS#8 key file), or a PKCS#12 key store with
 * its password in a file (so that it is not on the command line, where {@code ps} shows it).
 * Every problem is one line naming the file and, where there is one, the command that fixes it.
 */
public final class TlsMaterial {
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");
    /** Every block's kind, including those with headers (an encrypted PKCS#1 key has "Proc-Type:"). */
    private static final Pattern BEGIN = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----");
    private static final String TO_PKCS8 = "openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pkcs8";

    private final SSLContext context;
    private final X509Certificate certificate;

    /** Why the certificate or key cannot be used; the message is one line. */
    public static final class TlsException extends Exception {
        public TlsException(String message) {
            super(message);
        }
    }

    private TlsMaterial(SSLContext context, X509Certificate certificate) {
        this.context = context;
        this.certificate = certificate;
    }

    /** The context for the HTTPS server. */
    public SSLContext context() {
        return context;
    }

    /** The server's own certificate, the first of its chain. */
    public X509Certificate certificate() {
        return certificate;
    }

    /**
     * @param chainFile PEM certificates, the server's first, then the intermediates
     * @param keyFile an unencrypted PEM PKCS#8 private key ({@code -----BEGIN PRIVATE KEY-----})
     */
    public static TlsMaterial fromPem(Path chainFile, Path keyFile) throws TlsException {
        List<X509Certificate> chain = certificates(chainFile);
        PrivateKey key = privateKey(keyFile, chain.getFirst().getPublicKey(), chainFile);
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            char[] password = new char[0];
            store.setKeyEntry("directory", key, password, chain.toArray(new Certificate[0]));
            return new TlsMaterial(context(store, password), chain.getFirst());
        } catch (GeneralSecurityException | IOException e) {
            throw new TlsException("cannot use the key in " + keyFile + " with the certificates in " + chainFile
                    + ": " + e.getMessage());
        }
    }

    /**
     * @param storeFile a PKCS#12 key store holding a private key and its certificate chain
     * @param passwordFile the store's password: the file's first line
     */
    public static TlsMaterial fromPkcs12(Path storeFile, Path passwordFile) throws TlsException {
        String text = new String(readFile(passwordFile, "password file"), StandardCharsets.UTF_8);
        int eol = text.indexOf('\n');
        String line = eol < 0 ? text : text.substring(0, eol);
        char[] password = (line.endsWith("\r") ? line.substring(0, line.length() - 1) : line).toCharArray();
        byte[] bytes = readFile(storeFile, "key store");
        KeyStore store;
        try {
            store = KeyStore.getInstance("PKCS12");
            store.load(new ByteArrayInputStream(bytes), password);
        } catch (IOException e) {
            if (e.getCause() instanceof UnrecoverableKeyException || String.valueOf(e.getMessage()).contains("password")) {
                throw new TlsException("wrong password for key store " + storeFile + " (from " + passwordFile + ")");
            }
            throw new TlsException(storeFile + " is not a PKCS#12 key store: " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new TlsException("cannot read key store " + storeFile + ": " + e.getMessage());
        }
        try {
            X509Certificate leaf = null;
            for (String alias : java.util.Collections.list(store.aliases())) {
                if (store.isKeyEntry(alias) && store.getCertificateChain(alias) != null
                        && store.getCertificateChain(alias).length > 0
                        && store.getCertificateChain(alias)[0] instanceof X509Certificate c) {
                    leaf = c;
                    break;
                }
            }
            if (leaf == null) {
                throw new TlsException("key store " + storeFile + " holds no private key with a certificate");
            }
            return new TlsMaterial(context(store, password), leaf);
        } catch (UnrecoverableKeyException e) {
            throw new TlsException("the private key in " + storeFile + " has a password other than the store's;"
                    + " patchcord needs one password for both");
        } catch (GeneralSecurityException e) {
            throw new TlsException("cannot use key store " + storeFile + ": " + e.getMessage());
        }
    }

    private static SSLContext context(KeyStore store, char[] password) throws GeneralSecurityException {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, password);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    private static List<X509Certificate> certificates(Path file) throws TlsException {
        String text = new String(readFile(file, "certificate file"), StandardCharsets.US_ASCII);
        List<X509Certificate> chain = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            Matcher m = PEM.matcher(text);
            while (m.find()) {
                if (m.group(1).equals("CERTIFICATE")) {
                    try (InputStream in = new ByteArrayInputStream(Base64.getMimeDecoder().decode(m.group(2)))) {
                        chain.add((X509Certificate) factory.generateCertificate(in));
                    }
                }
            }
        } catch (CertificateException | IllegalArgumentException | IOException e) {
            throw new TlsException("certificate file " + file + " holds a certificate that cannot be read: " + e.getMessage());
        }
        if (chain.isEmpty()) {
            throw new TlsException("certificate file " + file + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        return chain;
    }

    private static PrivateKey privateKey(Path file, PublicKey certified, Path chainFile) throws TlsException {
        String text = new String(readFile(file, "key file"), StandardCharsets.US_ASCII);
        Set<String> kinds = new LinkedHashSet<>();
        for (Matcher b = BEGIN.matcher(text); b.find(); ) {
            kinds.add(b.group(1));
        }
        byte[] der = null;
        Matcher m = PEM.matcher(text);
        while (m.find()) {
            if (der == null && m.group(1).equals("PRIVATE KEY")) {
                try {
                    der = Base64.getMimeDecoder().decode(m.group(2));
                } catch (IllegalArgumentException e) {
                    throw new TlsException("key file " + file + " has a PRIVATE KEY block that is not base64");
                }
            }
        }
        if (der == null) {
            throw new TlsException(whyNoKey(file, kinds));
        }
        PrivateKey key = decode(der, certified.getAlgorithm());
        String expected = certified.getAlgorithm();
        if (key == null) {
            for (String other : List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS")) {
                if (!other.equals(expected) && decode(der, other) != null) {
                    throw new TlsException("the private key in " + file + " is " + other + " but the certificate in "
                            + chainFile + " is for a " + expected + " key");
                }
            }
            throw new TlsException("key file " + file + " holds a PKCS#8 key that cannot be read as " + expected);
        }
        if (!belongTogether(key, certified)) {
            throw new TlsException("the private key in " + file + " does not belong to the first certificate in " + chainFile);
        }
        return key;
    }

    private static String whyNoKey(Path file, Set<String> kinds) {
        if (kinds.contains("RSA PRIVATE KEY") || kinds.contains("EC PRIVATE KEY")) {
            String form = kinds.contains("RSA PRIVATE KEY") ? "a PKCS#1 RSA" : "a SEC1 EC";
            return "key file " + file + " holds " + form + " key; patchcord reads PKCS#8 (-----BEGIN PRIVATE KEY-----): "
                    + "convert it with '" + TO_PKCS8 + "'";
        }
        if (kinds.contains("ENCRYPTED PRIVATE KEY")) {
            return "key file " + file + " holds an encrypted key; write it unencrypted with '" + TO_PKCS8
                    + "' and protect the file with its permissions";
        }
        if (kinds.contains("CERTIFICATE")) {
            return "key file " + file + " holds certificates but no private key (-----BEGIN PRIVATE KEY-----)";
        }
        return "key file " + file + " holds no PEM private key (-----BEGIN PRIVATE KEY-----)";
    }

    private static PrivateKey decode(byte[] der, String algorithm) {
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return null;
        }
    }

    /** A signature made with the key verifies under the certificate's key: the one test for every algorithm. */
    private static boolean belongTogether(PrivateKey key, PublicKey certified) {
        String algorithm = switch (certified.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "Ed448", "EdDSA" -> certified.getAlgorithm();
            default -> null;
        };
        if (algorithm == null) {
            return true; // another kind of key: the TLS handshake is the test
        }
        try {
            byte[] probe = "patchcord directory key check".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(algorithm);
            s.initSign(key);
            s.update(probe);
            byte[] signature = s.sign();
            s.initVerify(certified);
            s.update(probe);
            return s.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static byte[] readFile(Path file, String what) throws TlsException {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TlsException(what + " " + file + " does not exist");
        } catch (AccessDeniedException e) {
            throw new TlsException(what + " " + file + " cannot be read: permission denied");
        } catch (IOException e) {
            throw new TlsException("cannot read " + what + " " + file + ": " + e.getMessage());
        }
    }
}
