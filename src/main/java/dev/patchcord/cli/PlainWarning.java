package dev.patchcord.cli;

import java.io.PrintStream;

/** The warning every unencrypted compatibility mode prints at start. */
final class PlainWarning {
    private PlainWarning() {}

    static void print(PrintStream err, String mode) {
        err.println("patchcord: WARNING: " + mode + " mode is a plain tunnel: traffic is NOT encrypted or"
                + " authenticated, and anyone who can reach the port can read or inject packets."
                + " Use it only to talk to an existing " + mode + " peer.");
    }
}
