package dev.patchcord.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's first command: it works, with or without ping and iperf3, and leaves nothing behind. */
@ExtendWith(LabExtension.class)
class DemoIT {
    private static final String PATH = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");

    @Test
    void demoPingsMeasuresAndCleansUp() throws Exception {
        String out = demo(Map.of());
        assertThat(out).contains("WireGuard tunnel").containsPattern("[0-9.]+ Gbit/s").contains("cleaned up");
        // Whichever this machine has (bin/test installs ping): ping's own summary, or patchcord's echo.
        if (onPath(PATH, "ping")) {
            assertThat(out).contains("ping 198.19.0.2: 3 packets transmitted, 3 received, 0% packet loss");
        } else {
            assertThat(out).contains("echo 198.19.0.2: 3 sent, 3 received, 0% loss");
        }
        assertNothingLeft(out);
    }

    /** A bare machine: the PATH has every command this one has except ping and iperf3. */
    @Test
    void withoutPingAndIperf3TheDemoUsesItsOwnTools(@TempDir Path bin) throws Exception {
        Set<String> absent = Set.of("ping", "ping4", "ping6", "iperf3");
        linkCommandsExcept(bin, absent);
        assertThat(onPath(bin.toString(), "ip")).isTrue();
        for (String name : absent) {
            assertThat(onPath(bin.toString(), name)).as(name).isFalse();
        }

        String out = demo(Map.of("PATH", bin.toString()));
        assertThat(out).contains("WireGuard tunnel").contains("cleaned up").doesNotContain("packets transmitted");
        assertThat(out).containsPattern("echo 198\\.19\\.0\\.2: 3 sent, 3 received, 0% loss, "
                + "rtt min/avg/max = [0-9.]+/[0-9.]+/[0-9.]+ ms");
        assertThat(out).containsPattern("TCP through the tunnel, [0-9]+ MiB: [0-9.]+ Gbit/s \\(install iperf3");
        assertNothingLeft(out);
    }

    private static String demo(Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(System.getProperty("patchcord.launcher"), "demo", "--seconds", "1")
                .redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    private static void assertNothingLeft(String out) throws Exception {
        Matcher m = Pattern.compile("namespaces (pc\\S+)-a ").matcher(out);
        assertThat(m.find()).as(out).isTrue();
        String prefix = m.group(1);
        assertThat(exec("ip", "netns", "list")).doesNotContain(prefix);
        assertThat(exec("ip", "-o", "link")).doesNotContain(prefix);
        assertThat(exec("ps", "-eo", "args")).doesNotContain(prefix);
    }

    /**
     * Fills {@code bin} with links to every command on this PATH (the first of each name, as the
     * shell would find it) except {@code absent}, so the launcher and the demo find all they use.
     */
    private static void linkCommandsExcept(Path bin, Set<String> absent) throws IOException {
        for (String dir : PATH.split(":")) {
            Path d = Path.of(dir.isEmpty() ? "." : dir).toAbsolutePath();
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (Stream<Path> entries = Files.list(d)) {
                for (Path cmd : entries.toList()) {
                    Path link = bin.resolve(cmd.getFileName().toString());
                    if (!absent.contains(cmd.getFileName().toString()) && Files.isRegularFile(cmd)
                            && Files.isExecutable(cmd) && !Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        Files.createSymbolicLink(link, cmd);
                    }
                }
            }
        }
    }

    private static boolean onPath(String path, String program) {
        for (String dir : path.split(":")) {
            if (Files.isExecutable(Path.of(dir, program)) && Files.isRegularFile(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    private static String exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.SECONDS);
        return out;
    }
}
