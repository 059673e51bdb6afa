package dev.patchcord.cli;

/** A problem the user can fix (bad argument, missing privilege); printed as one line, no trace. */
public final class UserError extends RuntimeException {
    public UserError(String message) {
        super(message);
    }
}
