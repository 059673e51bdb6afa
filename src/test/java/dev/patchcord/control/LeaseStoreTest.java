package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.assign.Lease;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class LeaseStoreTest {
    static final long END = 1_767_225_600L;

    @TempDir
    Path dir;

    static byte[] key(int n) {
        byte[] k = new byte[32];
        Arrays.fill(k, (byte) n);
        return k;
    }

    static Optional<InetAddress> ip(String text) {
        return Optional.of(Cidr.parseAddress(text));
    }

    static final List<Lease> LEASES = List.of(
            new Lease(key(1), ip("10.9.0.2"), ip("fd00:9::2"), END),
            new Lease(key(2), ip("10.9.0.3"), Optional.empty(), END + 60),
            new Lease(key(3), Optional.empty(), ip("fd00:9::abcd"), 0));

    @Test
    void leasesSurviveARoundTrip() throws IOException {
        LeaseStore store = new LeaseStore(dir.resolve("wg0.leases"));
        store.save(LEASES);
        LeaseStore.Loaded loaded = store.load();
        assertThat(loaded.leases()).isEqualTo(LEASES);
        assertThat(loaded.problems()).isEmpty();
        assertThat(Files.readString(store.file())).isEqualTo("""
                # patchcord leases: public-key address[,address] end-epoch-seconds
                AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= 10.9.0.2,fd00:9::2 1767225600
                AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI= 10.9.0.3 1767225660
                AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM= fd00:9::abcd 0
                """);
        store.save(List.of());
        assertThat(store.load().leases()).isEmpty();
    }

    @Test
    void aMissingFileIsNoLeases() throws IOException {
        LeaseStore.Loaded loaded = new LeaseStore(dir.resolve("none")).load();
        assertThat(loaded.leases()).isEmpty();
        assertThat(loaded.problems()).isEmpty();
    }

    @Test
    void theFileIsReadableByItsOwnerOnly() throws IOException {
        LeaseStore store = new LeaseStore(dir.resolve("wg0.leases"));
        Files.writeString(store.file(), "old\n");
        Files.setPosixFilePermissions(store.file(), PosixFilePermissions.fromString("rw-r--r--"));
        store.save(LEASES);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(store.file()))).isEqualTo("rw-------");
    }

    @Test
    void aCrashBeforeTheRenameLeavesTheOldLeasesIntact() throws IOException {
        LeaseStore store = new LeaseStore(dir.resolve("wg0.leases"));
        store.save(LEASES.subList(0, 1));
        // Crash after the temporary file was written, before it replaced the real one ...
        Path tmp = store.writeTemporary(LeaseStore.render(LEASES));
        assertThat(tmp.getParent()).isEqualTo(store.file().toAbsolutePath().getParent());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp))).isEqualTo("rw-------");
        // ... or halfway through writing it.
        Files.writeString(tmp, "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB");
        assertThat(store.load().leases()).isEqualTo(LEASES.subList(0, 1));
        assertThat(store.load().problems()).isEmpty();
        // The next save replaces the leftover and leaves no temporary file behind.
        store.save(LEASES);
        assertThat(store.load().leases()).isEqualTo(LEASES);
        assertThat(tmp).doesNotExist();
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(store.file());
        }
    }

    @Test
    void aCorruptLineIsSkippedAndReportedWithItsLineNumber() throws IOException {
        Path file = dir.resolve("wg0.leases");
        String good = LeaseStore.render(LEASES).lines().skip(1).toList().get(1);
        Files.writeString(file, String.join("\n",
                "# patchcord leases",
                "",
                "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= 10.9.0.2,fd00:9::2 1767225600",
                "AQEB 10.9.0.4 1767225600",
                good,
                "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM= 10.9.0.300 5",
                "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM= 10.9.0.5,10.9.0.6 5",
                "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM= 10.9.0.5 soon",
                "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM= 10.9.0.5",
                "\u001b[2J 10.9.0.5 5",
                ""));
        LeaseStore.Loaded loaded = new LeaseStore(file).load();
        assertThat(loaded.leases()).containsExactly(LEASES.get(0), LEASES.get(1));
        assertThat(loaded.problems()).extracting(ConfigException::getMessage).containsExactly(
                file + ":4: 'AQEB' is not a base64 public key",
                file + ":6: '10.9.0.300' is not an IP address",
                file + ":7: two IPv4 addresses in '10.9.0.5,10.9.0.6'",
                file + ":8: lease end 'soon' is not a time in epoch seconds",
                file + ":9: expected 'public-key address[,address] end', found 2 fields",
                file + ":10: '?[2J' is not a base64 public key"); // no escape sequence reaches the terminal
        assertThat(loaded.problems()).extracting(ConfigException::line).containsExactly(4, 6, 7, 8, 9, 10);
    }

    @Test
    void invalidUtf8FailsOnlyItsOwnLine() throws IOException {
        Path file = dir.resolve("wg0.leases");
        byte[] bad = "\u00ff\u00fe 10.9.0.9 1\n".getBytes(StandardCharsets.ISO_8859_1);
        byte[] good = LeaseStore.render(LEASES.subList(1, 2)).getBytes(StandardCharsets.UTF_8);
        byte[] all = Arrays.copyOf(bad, bad.length + good.length);
        System.arraycopy(good, 0, all, bad.length, good.length);
        Files.write(file, all);
        LeaseStore.Loaded loaded = new LeaseStore(file).load();
        assertThat(loaded.leases()).containsExactly(LEASES.get(1));
        assertThat(loaded.problems()).extracting(ConfigException::line).containsExactly(1);
    }
}
