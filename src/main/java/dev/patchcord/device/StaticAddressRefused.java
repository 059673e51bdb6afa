package dev.patchcord.device;

import dev.patchcord.core.simplevpn.ControlMessage;

/**
 * The static address a simplevpn client asked for was refused: another client holds it, or it is
 * not in the server's pool (the server cannot say which). An {@link IllegalArgumentException}
 * because the cause is the {@code -a} argument: the command prints the message alone and exits 1.
 */
public final class StaticAddressRefused extends IllegalArgumentException {
    StaticAddressRefused(int address) {
        super("requested static address " + ControlMessage.format(address) + " is already in use or not in the pool");
    }
}
