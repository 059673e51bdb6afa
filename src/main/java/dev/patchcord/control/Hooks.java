package dev.patchcord.control;

import java.io.IOException;
import java.util.List;

/**
 * Runs the user's up and down scripts the way tap2tap does: the program is found on PATH, its only
 * argument is the interface name, it inherits patchcord's environment and output, and patchcord
 * waits for it.
 */
public final class Hooks {
    private Hooks() {}

    /** Thrown when a script cannot be started or exits with a non-zero status. */
    public static final class HookFailed extends Exception {
        public HookFailed(String message) {
            super(message);
        }
    }

    /**
     * Runs wg-quick style hook lines (PreUp, PostUp, PreDown, PostDown): each through bash, with
     * {@code %i} replaced by the interface name, in order; the first failure stops the rest.
     */
    public static void runShell(String which, java.util.List<String> commands, String ifname) throws HookFailed {
        String shell = new java.io.File("/bin/bash").canExecute() ? "/bin/bash" : "/bin/sh";
        for (String command : commands) {
            String line = command.replace("%i", ifname);
            int status;
            try {
                status = new ProcessBuilder(shell, "-c", line).inheritIO().start().waitFor();
            } catch (IOException e) {
                throw new HookFailed(which + " '" + line + "' could not be started: " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HookFailed(which + " '" + line + "' was interrupted");
            }
            if (status != 0) {
                throw new HookFailed(which + " '" + line + "' exited with status " + status);
            }
        }
    }

    public static void run(String which, String program, String ifname) throws HookFailed {
        if (program == null) {
            return;
        }
        Process p;
        try {
            p = new ProcessBuilder(List.of(program, ifname)).inheritIO().start();
        } catch (IOException e) {
            throw new HookFailed(which + " script '" + program + "' could not be started: " + e.getMessage());
        }
        try {
            int status = p.waitFor();
            if (status != 0) {
                throw new HookFailed(which + " script exited with status " + status);
            }
        } catch (InterruptedException e) {
            p.destroy();
            Thread.currentThread().interrupt();
            throw new HookFailed(which + " script was interrupted");
        }
    }
}
