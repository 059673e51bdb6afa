package dev.patchcord.control.directory;

import dev.patchcord.testing.TestPki;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The certificate and key in the forms operators have them, and one-line errors for the rest. */
@Timeout(120)
class TlsMaterialTest {
    @TempDir
    static Path dir;
    private static TestPki pki;
    private static Path ec, rsa;
    private static Path[] ecPem, rsaPem;

    @BeforeAll
    static void certificates() throws Exception {
        pki = new TestPki(dir);
        ec = pki.leaf("ec", "EC");
        rsa = pki.leaf("rsa", "RSA");
        ecPem = pki.pem("ec");
        rsaPem = pki.pem("rsa");
    }

    @Test
    void pemChainAndPkcs8KeyEcOrRsa() throws Exception {
        TlsMaterial fromEc = TlsMaterial.fromPem(ecPem[0], ecPem[1]);
        assertThat(fromEc.context()).isNotNull();
        assertThat(fromEc.certificate().getSubjectX500Principal().getName()).isEqualTo("CN=127.0.0.1");
        assertThat(TlsMaterial.fromPem(rsaPem[0], rsaPem[1]).certificate().getPublicKey().getAlgorithm()).isEqualTo("RSA");
    }

    @Test
    void pkcs12WithThePasswordFromAFile() throws Exception {
        TlsMaterial m = TlsMaterial.fromPkcs12(ec, pki.passwordFile());
        assertThat(m.certificate().getSubjectX500Principal().getName()).isEqualTo("CN=127.0.0.1");
        Path crlf = Files.writeString(dir.resolve("crlf"), TestPki.PASSWORD + "\r\nsecond line ignored");
        assertThat(TlsMaterial.fromPkcs12(rsa, crlf).certificate().getPublicKey().getAlgorithm()).isEqualTo("RSA");
    }

    @Test
    void aPkcs1OrSec1KeySaysHowToConvertIt() throws Exception {
        Path pkcs1 = Files.writeString(dir.resolve("rsa-pkcs1.pem"),
                TestPki.block("RSA PRIVATE KEY", TestPki.innerKey(pki.pkcs8("rsa"))));
        assertThatThrownBy(() -> TlsMaterial.fromPem(rsaPem[0], pkcs1)).isInstanceOf(TlsMaterial.TlsException.class)
                .hasMessage("key file " + pkcs1 + " holds a PKCS#1 RSA key; patchcord reads PKCS#8 (-----BEGIN PRIVATE KEY-----): "
                        + "convert it with 'openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pkcs8'");
        Path sec1 = Files.writeString(dir.resolve("ec-sec1.pem"), TestPki.block("EC PRIVATE KEY", TestPki.innerKey(pki.pkcs8("ec"))));
        assertThatThrownBy(() -> TlsMaterial.fromPem(ecPem[0], sec1)).hasMessageContaining("SEC1 EC key")
                .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");
    }

    @Test
    void aKeyOfAnotherCertificateIsRefused() throws Exception {
        assertThatThrownBy(() -> TlsMaterial.fromPem(ecPem[0], rsaPem[1]))
                .hasMessage("the private key in " + rsaPem[1] + " is RSA but the certificate in " + ecPem[0] + " is for a EC key");
        pki.leaf("ec2", "EC");
        Path[] other = pki.pem("ec2");
        assertThatThrownBy(() -> TlsMaterial.fromPem(ecPem[0], other[1]))
                .hasMessage("the private key in " + other[1] + " does not belong to the first certificate in " + ecPem[0]);
    }

    @Test
    void missingWrongOrSwappedFilesAreOneLine() throws Exception {
        Path missing = dir.resolve("missing.pem");
        assertThatThrownBy(() -> TlsMaterial.fromPem(missing, ecPem[1])).hasMessage("certificate file " + missing + " does not exist");
        assertThatThrownBy(() -> TlsMaterial.fromPem(ecPem[0], missing)).hasMessage("key file " + missing + " does not exist");
        assertThatThrownBy(() -> TlsMaterial.fromPem(ecPem[1], ecPem[0])).hasMessageContaining("holds no PEM certificate");
        assertThatThrownBy(() -> TlsMaterial.fromPem(ecPem[0], ecPem[0])).hasMessageContaining("holds certificates but no private key");
        Path wrong = Files.writeString(dir.resolve("wrong"), "not the password\n");
        assertThatThrownBy(() -> TlsMaterial.fromPkcs12(ec, wrong)).hasMessage("wrong password for key store " + ec + " (from " + wrong + ")");
        assertThatThrownBy(() -> TlsMaterial.fromPkcs12(ecPem[0], pki.passwordFile())).hasMessageContaining("is not a PKCS#12 key store");
        assertThatThrownBy(() -> TlsMaterial.fromPkcs12(ec, missing)).hasMessage("password file " + missing + " does not exist");
        Path trustOnly = pki.certificatesOnly();
        assertThatThrownBy(() -> TlsMaterial.fromPkcs12(trustOnly, pki.passwordFile()))
                .hasMessage("key store " + trustOnly + " holds no private key with a certificate");
    }
}
