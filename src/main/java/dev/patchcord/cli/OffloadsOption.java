package dev.patchcord.cli;

import dev.patchcord.device.Offloads;
import picocli.CommandLine.Option;

/** The {@code --offloads} option of the plain modes, shared as a picocli mixin. */
final class OffloadsOption {
    @Option(names = "--offloads", paramLabel = "SPEC",
            description = "How the packet path moves batches: all, none, or a list such as -tso "
                    + "(default: PATCHCORD_OFFLOADS, else all). The wire format is the same either way.")
    String spec;

    /** The offloads to use: the option, else the environment, else all. */
    Offloads chosen() {
        try {
            return Offloads.fromSetting(spec);
        } catch (IllegalArgumentException e) {
            throw new UserError((spec != null ? "--offloads " : "") + e.getMessage());
        }
    }
}
