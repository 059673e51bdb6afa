package dev.patchcord.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's first command: it works and leaves nothing behind. */
@ExtendWith(LabExtension.class)
class DemoIT {
    @Test
    void demoPingsMeasuresAndCleansUp() throws Exception {
        Process p = new ProcessBuilder(System.getProperty("patchcord.launcher"), "demo", "--seconds", "1")
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("WireGuard tunnel").contains("3 received, 0% packet loss").containsPattern("[0-9.]+ Gbit/s").contains("cleaned up");

        Matcher m = Pattern.compile("namespaces (pc\\S+)-a ").matcher(out);
        assertThat(m.find()).as(out).isTrue();
        String prefix = m.group(1);
        assertThat(exec("ip", "netns", "list")).doesNotContain(prefix);
        assertThat(exec("ip", "-o", "link")).doesNotContain(prefix);
        assertThat(exec("ps", "-eo", "args")).doesNotContain(prefix);
    }

    private static String exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.SECONDS);
        return out;
    }
}
