package dev.patchcord.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.patchcord.control.UapiServer;

/**
 * Where running tunnels leave their process id and log: {@code /run/patchcord/IFNAME.pid} and
 * {@code IFNAME.log}, so that {@code patchcord down IFNAME} finds the process to stop; and where
 * their configuration socket for {@code wg} lives, {@code /var/run/wireguard/IFNAME.sock}.
 *
 * <p>Both directories belong to root on a usual system. A tunnel run by a service user needs
 * them writable (the systemd unit in {@code dist/systemd} arranges it) or pointed elsewhere:
 * {@code PATCHCORD_RUN_DIR} and {@code PATCHCORD_SOCKET_DIR}. The {@code wg} tool only looks in
 * {@code /var/run/wireguard}; {@code patchcord show} follows {@code PATCHCORD_SOCKET_DIR}.
 */
final class RunDir {
    private RunDir() {}

    static Path dir() {
        String override = System.getenv("PATCHCORD_RUN_DIR");
        return Path.of(override != null && !override.isBlank() ? override : "/run/patchcord");
    }

    /** The directory of the configuration sockets: {@code PATCHCORD_SOCKET_DIR}, else where {@code wg} looks. */
    static Path socketDir() {
        String override = System.getenv("PATCHCORD_SOCKET_DIR");
        return override != null && !override.isBlank() ? Path.of(override) : UapiServer.DEFAULT_DIRECTORY;
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

    /**
     * {@link #writePid} for a tunnel in the foreground, where the pid file only serves
     * {@code patchcord down}: a run directory the process may not write (a service user without
     * one) is worth a warning, not a stop.
     */
    static void writePidOrWarn(String ifname, java.io.PrintStream err) {
        try {
            writePid(ifname);
        } catch (UserError e) {
            err.println("patchcord: " + ifname + ": " + e.getMessage() + " ('patchcord down " + ifname
                    + "' will not find this process; set PATCHCORD_RUN_DIR to a writable directory)");
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
