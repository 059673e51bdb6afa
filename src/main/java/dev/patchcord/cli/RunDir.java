package dev.patchcord.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where running tunnels leave their process id and log: {@code /run/patchcord/IFNAME.pid} and
 * {@code IFNAME.log}, so that {@code patchcord down IFNAME} finds the process to stop.
 */
final class RunDir {
    private RunDir() {}

    static Path dir() {
        String override = System.getenv("PATCHCORD_RUN_DIR");
        return Path.of(override != null && !override.isBlank() ? override : "/run/patchcord");
    }

    static Path pidFile(String ifname) {
        return dir().resolve(ifname + ".pid");
    }

    static Path logFile(String ifname) {
        return dir().resolve(ifname + ".log");
    }

    static void writePid(String ifname) {
        try {
            Files.createDirectories(dir());
            Path tmp = dir().resolve(ifname + ".pid.tmp");
            Files.writeString(tmp, ProcessHandle.current().pid() + "\n");
            Files.move(tmp, pidFile(ifname), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UserError("cannot write " + pidFile(ifname) + ": " + e.getMessage());
        }
    }

    /** Removes the pid file if it still names this process. */
    static void removePid(String ifname) {
        try {
            Path f = pidFile(ifname);
            if (Files.exists(f) && Files.readString(f).strip().equals(String.valueOf(ProcessHandle.current().pid()))) {
                Files.delete(f);
            }
        } catch (IOException ignored) {
            // Nothing to undo: a stale pid file is detected by the next 'down' or 'up'.
        }
    }

    /** The live process recorded for {@code ifname}, if any. */
    static java.util.Optional<ProcessHandle> running(String ifname) {
        try {
            Path f = pidFile(ifname);
            if (!Files.exists(f)) {
                return java.util.Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(f).strip());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .filter(p -> p.info().commandLine().map(c -> c.contains("patchcord") || c.contains("dev.patchcord"))
                            .orElse(true));
        } catch (IOException | NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }
}
