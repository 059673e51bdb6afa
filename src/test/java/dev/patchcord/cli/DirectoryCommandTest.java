package dev.patchcord.cli;

import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code patchcord directory serve} in process, for the errors that come before anything listens:
 * each is one line on standard error and exit status 1.
 */
@Timeout(60)
class DirectoryCommandTest {
    @TempDir
    Path dir;

    private Path privateKey() throws Exception {
        Path key = dir.resolve("directory.key");
        Files.writeString(key, Keys.toBase64(X25519.generatePrivate(new SplittableRandom(5))) + "\n");
        Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return key;
    }

    @Test
    void aMissingMembersFileIsOneLineAndExit1() throws Exception {
        Path missing = dir.resolve("members.json");
        CliRun o = CliRun.of("directory", "serve", "--members", missing.toString(), "--private-key", privateKey().toString(),
                "--cert", dir.resolve("cert.pem").toString(), "--tls-key", dir.resolve("key.pem").toString());
        assertThat(o.status()).isEqualTo(1);
        assertThat(o.err()).isEqualTo("patchcord: members file " + missing + " does not exist" + System.lineSeparator());
    }

    @Test
    void optionErrorsAreOneLineAndExit1() throws Exception {
        Path key = privateKey();
        Path members = Files.writeString(dir.resolve("members.json"), "{peers: []}");
        // Used once as a wrong private key: no permission warning, so that the error is the only line.
        Files.setPosixFilePermissions(members, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        String[][] cases = {
                {"directory", "serve", "--private-key", key.toString(), "--keystore", "x", "--keystore-password-file", "y"},
                {"directory", "serve", "--members", members.toString(), "--private-key", key.toString()},
                {"directory", "serve", "--members", members.toString(), "--private-key", key.toString(), "--cert", "c"},
                {"directory", "serve", "--members", members.toString(), "--private-key", key.toString(), "--cert", "c",
                        "--tls-key", "k", "--keystore", "x", "--keystore-password-file", "y"},
                {"directory", "serve", "--members", members.toString(), "--private-key", key.toString(), "--cert", "c",
                        "--tls-key", "k", "--listen", "1.2.3.4"},
                {"directory", "serve", "--members", members.toString(), "--private-key", key.toString(), "--cert", "c",
                        "--tls-key", "k", "--ttl", "0"},
                {"directory", "serve", "--members", members.toString(), "--private-key", members.toString(), "--cert", "c",
                        "--tls-key", "k"},
                {"directory", "serve", "--members", members.toString(), "--private-key", key.toString(), "--cert", "c",
                        "--tls-key", "k"},
        };
        String[] expected = {"--members FILE is required", "a TLS certificate is required", "--cert and --tls-key go together",
                "give either --cert and --tls-key or --keystore", "--listen '1.2.3.4' has no port", "--ttl must be", "private key file " + members + ": a WireGuard key",
                "certificate file c does not exist"};
        for (int i = 0; i < cases.length; i++) {
            CliRun o = CliRun.of(cases[i]);
            assertThat(o.status()).as(String.join(" ", cases[i])).isEqualTo(1);
            assertThat(o.err()).as(String.join(" ", cases[i])).startsWith("patchcord: " + expected[i])
                    .hasLineCount(1);
        }
    }

    @Test
    void storeOptionErrorsAreOneLineAndExit1() throws Exception {
        Path key = privateKey();
        Path members = Files.writeString(dir.resolve("members.json"), "{peers: []}");
        String[] base = {"directory", "serve", "--members", members.toString(), "--private-key", key.toString(),
                "--cert", "c", "--tls-key", "k"};
        String[][] extra = {
                {"--cluster", "mesh"},
                {"--store-ca", "ca.pem"},
                {"--store", "etcd://127.0.0.1:2379"},
                {"--store", "http://127.0.0.1:2379", "--cluster", "mesh"},
                {"--store", "etcd://127.0.0.1", "--cluster", "mesh"},
                {"--store", "etcd://127.0.0.1:2379", "--cluster", "Mesh"},
                {"--store", "etcd://127.0.0.1:2379", "--cluster", "mesh", "--store-cert", "c.pem"},
                {"--store", "etcd://127.0.0.1:2379", "--cluster", "mesh", "--store-cert", "c.pem", "--store-key", "k.pem"},
        };
        String[] expected = {"--cluster needs --store", "--store-ca needs --store", "--store needs --cluster NAME",
                "--store/--cluster: Store 'http://127.0.0.1:2379' is not etcd://", "--store/--cluster: Store endpoint '127.0.0.1' is not HOST:PORT",
                "--store/--cluster: Cluster 'Mesh' is not 1-63", "--store-cert and --store-key go together",
                "--store-cert needs --store-ca"};
        for (int i = 0; i < extra.length; i++) {
            String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(extra[i]))
                    .toArray(String[]::new);
            CliRun o = CliRun.of(args);
            assertThat(o.status()).as(String.join(" ", extra[i])).isEqualTo(1);
            assertThat(o.err()).as(String.join(" ", extra[i])).startsWith("patchcord: " + expected[i]).hasLineCount(1);
        }
    }

    @Test
    void helpShowsExamples() throws Exception {
        CliRun o = CliRun.of("directory", "serve", "--help");
        assertThat(o.status()).isZero();
        assertThat(o.out()).contains("--members").contains("--keystore-password-file").contains("Examples:")
                .contains("patchcord directory serve --members members.json");
    }
}
