package dev.patchcord.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** bin/patchcord: finds JDK 25 or says clearly that it cannot. Runs after packaging (it starts the jar); no root needed. */
class LauncherIT {
    private static final Path LAUNCHER = Path.of("bin/patchcord").toAbsolutePath();

    private record Run(int code, String output) {}

    private static Run launch(String javaHome, Path jvmDir, String... args) throws Exception {
        var cmd = new java.util.ArrayList<>(java.util.List.of(LAUNCHER.toString()));
        cmd.addAll(java.util.List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", javaHome);
        pb.environment().put("PATCHCORD_JVM_DIR", jvmDir.toString());
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out);
    }

    @Test
    void withoutJdk25ItSaysSoAndFails(@TempDir Path emptyJvmDir) throws Exception {
        Run r = launch("/nonexistent", emptyJvmDir, "--version");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.output()).isEqualTo("patchcord: needs a JDK 25 or newer: set JAVA_HOME to one, or install one under "
                + emptyJvmDir + " (e.g. Temurin 25)\n");
    }

    @Test
    void anOlderJavaHomeIsPassedOverForJdk25(@TempDir Path jvmDir) throws Exception {
        // A fake JDK 17 home; the real JDK 25 (the one running this test) is the only candidate in jvmDir.
        Path old = jvmDir.resolve("old");
        java.nio.file.Files.createDirectories(old.resolve("bin"));
        java.nio.file.Files.writeString(old.resolve("release"), "JAVA_VERSION=\"17.0.15\"\n");
        Path fakeJava = java.nio.file.Files.writeString(old.resolve("bin/java"), "#!/bin/sh\nexit 99\n");
        fakeJava.toFile().setExecutable(true);
        // The launcher skips symbolic links in the JVM directory (Debian's aliases), so the candidate is a
        // real directory whose entries link into the running JDK.
        Path real = jvmDir.resolve("jdk25");
        java.nio.file.Files.createDirectories(real);
        for (String entry : new String[]{"bin", "lib", "conf", "release", "legal"}) {
            Path target = Path.of(System.getProperty("java.home"), entry);
            if (java.nio.file.Files.exists(target)) {
                java.nio.file.Files.createSymbolicLink(real.resolve(entry), target);
            }
        }
        Run r = launch(old.toString(), jvmDir, "--version");
        assertThat(r.output()).startsWith("patchcord ");
        assertThat(r.code()).isZero();
    }
}
