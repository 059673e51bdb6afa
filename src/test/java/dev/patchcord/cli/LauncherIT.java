package dev.patchcord.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.stream.Stream;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** bin/patchcord: finds JDK 25 or says clearly that it cannot; rebuilds a stale jar quietly. Runs after packaging (it starts the jar); no root needed. */
class LauncherIT {
    private static final Path LAUNCHER = Path.of("bin/patchcord").toAbsolutePath();

    private record Run(int code, String output) {}

    private static Run launch(String javaHome, Path jvmDir, String... args) throws Exception {
        return launch(LAUNCHER, javaHome, jvmDir, args);
    }

    private static Run launch(Path launcher, String javaHome, Path jvmDir, String... args) throws Exception {
        return launch(launcher, javaHome, jvmDir, java.util.Map.of(), args);
    }

    private static Run launch(Path launcher, String javaHome, Path jvmDir, java.util.Map<String, String> env,
                              String... args) throws Exception {
        var cmd = new java.util.ArrayList<>(java.util.List.of(launcher.toString()));
        cmd.addAll(java.util.List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", javaHome);
        pb.environment().put("PATCHCORD_JVM_DIR", jvmDir.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
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

    /**
     * A copy of the source tree whose jar is older than one source file: the launcher rebuilds it
     * with one line of its own (no Maven output), runs the new jar, and the next start builds nothing.
     */
    @Test
    void aJarOlderThanASourceIsRebuiltQuietly(@TempDir Path tree) throws Exception {
        Path launcher = copyTree(tree);
        Path jar = tree.resolve("target/patchcord.jar");
        Path source = tree.resolve("src/main/java/dev/patchcord/cli/Main.java");
        Files.setLastModifiedTime(jar, FileTime.from(Instant.now().minusSeconds(3600)));
        Files.setLastModifiedTime(source, FileTime.from(Instant.now().minusSeconds(60)));

        Run r = launch(launcher, System.getProperty("java.home"), tree, "--version");
        assertThat(r.code()).as(r.output()).isZero();
        assertThat(r.output()).isEqualTo("patchcord: building target/patchcord.jar (src/main/java/dev/patchcord/cli/Main.java "
                + "is newer than the jar; takes about a minute the first time)...\n" + versionLine());
        assertThat(Files.getLastModifiedTime(jar).toInstant()).isAfter(Instant.now().minusSeconds(300));

        Run again = launch(launcher, System.getProperty("java.home"), tree, "--version");
        assertThat(again.output()).isEqualTo(versionLine());

        // The new jar got a new AOT cache from the training run (it needs network namespaces:
        // root, or user namespaces); the JVM accepts it for this jar, it holds the tunnels' classes
        // and the training's method profiles, and the launcher runs with it.
        Path cache = tree.resolve("target/patchcord.aot");
        if (dev.patchcord.sys.Libc.geteuid() == 0) {
            assertThat(cache).as(log(tree)).exists();
        }
        if (Files.exists(cache)) {
            String listing = cacheListing(cache, jar);
            assertThat(listing).contains("archive is valid")
                    .contains("dev.patchcord.cli.UpCommand ").contains("dev.patchcord.cli.TinyvpnCommand ")
                    .contains("dev.patchcord.tun.TunDevice ").contains("dev.patchcord.transport.UdpSocket ")
                    .contains("dev.patchcord.tun.BatchReader ").contains("TrainingData");
            assertThat(Files.getLastModifiedTime(cache).toInstant()).isAfter(Files.getLastModifiedTime(jar).toInstant());
            Run traced = launch(launcher, System.getProperty("java.home"), tree,
                    java.util.Map.of("PATCHCORD_JAVA_OPTS", "-Xlog:class+load=info"), "--version");
            assertThat(traced.output()).contains("dev.patchcord.cli.Main source: shared objects file");
        }
    }

    /**
     * A cache that does not fit (damaged, or made for another jar) is newer than the jar, so the
     * launcher does not remake it: the JVM must ignore it, say nothing and run patchcord as usual.
     */
    @Test
    void aDamagedOrMismatchedCacheDoesNotStopPatchcord(@TempDir Path tree) throws Exception {
        Path launcher = copyTree(tree);
        Path cache = tree.resolve("target/patchcord.aot");
        byte[] junk = new byte[1 << 20];
        new java.util.Random(17).nextBytes(junk);
        Files.write(cache, junk);
        Files.setLastModifiedTime(cache, FileTime.from(Instant.now().plusSeconds(60)));
        Run damaged = launch(launcher, System.getProperty("java.home"), tree, "--version");
        assertThat(damaged.code()).as(damaged.output()).isZero();
        assertThat(damaged.output()).isEqualTo(versionLine());

        // A cache of this tree's jar made elsewhere: same classes, but the copy's date differs.
        Path made = LAUNCHER.getParent().getParent().resolve("target/patchcord.aot");
        if (Files.exists(made)) {
            Files.copy(made, cache, StandardCopyOption.REPLACE_EXISTING);
            Files.setLastModifiedTime(cache, FileTime.from(Instant.now().plusSeconds(60)));
            Run mismatched = launch(launcher, System.getProperty("java.home"), tree, "--version");
            assertThat(mismatched.code()).as(mismatched.output()).isZero();
            assertThat(mismatched.output()).isEqualTo(versionLine());
        }
    }

    /** What the JVM says of an AOT cache for {@code jar}: its classes, its profiles, and whether it is valid. */
    static String cacheListing(Path cache, Path jar) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:AOTCache=" + cache, "-XX:+PrintSharedArchiveAndExit",
                "-jar", jar.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    private static String log(Path tree) throws IOException {
        Path log = tree.resolve("target/patchcord.aot.log");
        return Files.exists(log) ? Files.readString(log) : "(no log)";
    }

    /** A build that fails shows Maven's output, says so in one line and exits with 1. */
    @Test
    void aFailedBuildShowsMavensOutput(@TempDir Path tree) throws Exception {
        Path launcher = copyTree(tree);
        Files.delete(tree.resolve("target/patchcord.jar"));
        Files.writeString(tree.resolve("src/main/java/dev/patchcord/cli/Broken.java"), "class Broken { int x = ; }\n");

        Run r = launch(launcher, System.getProperty("java.home"), tree, "--version");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.output()).startsWith("patchcord: building target/patchcord.jar (first run;")
                .contains("Broken.java").contains("COMPILATION ERROR")
                .endsWith("patchcord: build failed (Maven's output above)\n");
    }

    private static String versionLine() throws Exception {
        return launch(System.getProperty("java.home"), Path.of("/nonexistent"), "--version").output();
    }

    /**
     * bin/, src/main/, pom.xml (dated two hours ago) and the built jar (dated now), copied into
     * {@code tree}; returns the copy's launcher.
     */
    private static Path copyTree(Path tree) throws IOException {
        Path root = LAUNCHER.getParent().getParent();
        for (String part : new String[]{"bin", "src/main", "pom.xml"}) {
            Path from = root.resolve(part);
            try (Stream<Path> files = Files.walk(from)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Path to = tree.resolve(root.relativize(f).toString());
                    if (Files.isDirectory(f)) {
                        Files.createDirectories(to);
                    } else {
                        Files.copy(f, to, StandardCopyOption.COPY_ATTRIBUTES);
                        Files.setLastModifiedTime(to, FileTime.from(Instant.now().minusSeconds(7200)));
                    }
                }
            }
        }
        Files.createDirectories(tree.resolve("target"));
        Files.copy(root.resolve("target/patchcord.jar"), tree.resolve("target/patchcord.jar"));
        return tree.resolve("bin/patchcord");
    }
}
