package dev.patchcord.cli;

import dev.patchcord.control.Handover;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How the plain modes ({@code tinyvpn}, {@code tap2tap}, {@code udptun}, {@code simplevpn client}) take part in
 * {@code patchcord restart}: a pid file in the run directory by the interface's name, so that
 * {@code restart} (and {@code down}) find the process; SIGUSR2 runs a {@link Restart} with the
 * command line this process was started with; a successor says {@code RUNNING} once its loops run.
 */
final class PlainRestart {
    /** The option a running process gives its successor; hidden, as {@code up}'s. */
    static final String TAKE_OVER = "--take-over";

    private PlainRestart() {}

    /**
     * Registers the restart on {@code session}.
     *
     * @param ifname   the interface's actual name, or null when there is none (tinyvpn's stdio):
     *                 then no pid file is written, and a SIGUSR2 is refused with the handover's reason
     * @param label    the name the process's log lines carry when there is no interface
     * @param takeover the hand-over this process took the interface over with, or null
     */
    static void register(TunnelSession session, CommandSpec spec, String ifname, String label, Takeover takeover,
            Handover handover, PrintStream err) {
        if (ifname != null) {
            session.onStop(() -> RunDir.removePid(ifname));
        }
        if (takeover != null) {
            takeover.interfaceIs(ifname);
            session.onReady(() -> takeover.running(() -> { }));
        } else if (ifname != null) {
            session.onReady(() -> RunDir.writePidOrWarn(ifname, err));
        }
        List<String> original = spec.commandLine().getParseResult().originalArgs();
        // A subcommand of a subcommand (simplevpn client) starts its successor with its parents' names.
        List<String> path = List.of(spec.qualifiedName(" ").split(" "));
        List<String> parents = path.subList(1, path.size() - 1);
        Restart restart = new Restart(ifname != null ? ifname : label, socket -> {
            List<String> args = new ArrayList<>(parents);
            args.addAll(successorArgs(original, spec.name(), socket));
            return args;
        }, handover, Runnable::run, session.cleanupLock(), session::stopRequested, err);
        session.onRestart(restart::requested, restart::arm);
    }

    /**
     * The successor's command line after the program: this process's own arguments from the
     * subcommand's name on, with {@code --take-over SOCKET} right after the name (before any
     * {@code --}) in place of one this process may have been given itself. Relative paths stay
     * valid: the successor starts in this process's working directory.
     *
     * @param original the arguments as given, possibly with options of the top command before
     *                 the subcommand's name
     */
    static List<String> successorArgs(List<String> original, String command, Path socket) {
        int at = original.indexOf(command);
        List<String> rest = at < 0 ? original : original.subList(at + 1, original.size());
        List<String> args = new ArrayList<>(List.of(command, TAKE_OVER, socket.toString()));
        boolean options = true;
        for (int i = 0; i < rest.size(); i++) {
            String a = rest.get(i);
            if (options && a.equals("--")) {
                options = false;
            } else if (options && a.equals(TAKE_OVER)) {
                i++; // and its value
                continue;
            } else if (options && a.startsWith(TAKE_OVER + "=")) {
                continue;
            }
            args.add(a);
        }
        return args;
    }
}
