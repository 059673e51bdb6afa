package dev.patchcord.cli;

import dev.patchcord.tun.InterfaceName;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Finds a configuration the way wg-quick does: a path, or an interface name looked up in the usual places. */
final class ConfigFiles {
    private ConfigFiles() {}

    static final List<Path> SEARCH = List.of(Path.of("/etc/patchcord"), Path.of("/etc/wireguard"));

    /** The file for {@code arg}: itself if it looks like a path, else IFNAME.conf in a search directory. */
    static Path resolve(String arg) {
        if (arg.contains("/") || arg.endsWith(".conf")) {
            Path p = Path.of(arg);
            if (!Files.isRegularFile(p)) {
                throw new UserError("no configuration file '" + arg + "'");
            }
            return p;
        }
        InterfaceName.require(arg);
        for (Path dir : SEARCH) {
            Path p = dir.resolve(arg + ".conf");
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new UserError("no configuration for '" + arg + "' in " + SEARCH.get(0) + " or " + SEARCH.get(1));
    }

    /** The interface name a configuration file gives (its name without .conf), as wg-quick. */
    static String interfaceName(Path config) {
        String name = config.getFileName().toString();
        if (!name.endsWith(".conf")) {
            throw new UserError("configuration file names end in .conf: the interface is named after the file ('"
                    + name + "')");
        }
        return InterfaceName.require(name.substring(0, name.length() - ".conf".length()));
    }
}
