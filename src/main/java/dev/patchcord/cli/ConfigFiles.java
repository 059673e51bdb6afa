package dev.patchcord.cli;

import dev.patchcord.control.UapiClient;
import dev.patchcord.control.UapiProtocol;
import dev.patchcord.sys.Libc;
import dev.patchcord.tun.InterfaceName;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Finds a configuration the way wg-quick does, a path or an interface name looked up in the usual
 * places; and, for an interface that runs, the file its {@code patchcord up} says it was started from.
 */
final class ConfigFiles {
    private ConfigFiles() {}

    static final List<Path> SEARCH = List.of(Path.of("/etc/patchcord"), Path.of("/etc/wireguard"));

    /**
     * The file to bring up: {@code arg} itself if it looks like a path, else IFNAME.conf in a
     * search directory. Never what a running process reports: {@code up} runs the file's hooks.
     */
    static Path resolve(String arg) {
        if (isPath(arg)) {
            return existing(arg);
        }
        return search(InterfaceName.require(arg)).orElseThrow(() -> new UserError("no configuration for '" + arg
                + "' in " + SEARCH.get(0) + " or " + SEARCH.get(1)));
    }

    /**
     * The file of an interface to manage ({@code peer}, {@code syncconf}): {@code arg} itself if it
     * looks like a path; for a name, the file the running interface was started from, wherever it
     * lives, else IFNAME.conf in a search directory.
     */
    static Path ofInterface(String arg) {
        if (isPath(arg)) {
            return existing(arg);
        }
        String ifname = InterfaceName.require(arg);
        return runningFrom(ifname).or(() -> search(ifname)).orElseThrow(() -> new UserError("no configuration for '"
                + arg + "': no running patchcord interface of that name names its file, and there is none in "
                + SEARCH.get(0) + " or " + SEARCH.get(1)));
    }

    private static boolean isPath(String arg) {
        return arg.contains("/") || arg.endsWith(".conf");
    }

    private static Path existing(String arg) {
        Path p = Path.of(arg);
        if (!Files.isRegularFile(p)) {
            throw new UserError("no configuration file '" + arg + "'");
        }
        return p;
    }

    private static Optional<Path> search(String ifname) {
        return SEARCH.stream().map(dir -> dir.resolve(ifname + ".conf")).filter(Files::isRegularFile).findFirst();
    }

    /**
     * The file a running {@code patchcord up} reports on its configuration socket
     * ({@link UapiProtocol#CONFIG_FILE}). Empty when nothing answers there, or what answers does
     * not say (wireguard-go, the plain modes): the search directories are the answer then.
     *
     * <p>Only a socket of this user or of root is believed. A service user's socket (the systemd
     * unit) names the private copy systemd made of root's file, and a process of another user
     * must not choose which file this one rewrites. A reported file that is gone is an error
     * rather than a reason to edit another file of the same name.
     */
    private static Optional<Path> runningFrom(String ifname) {
        Path socket = RunDir.socketDir().resolve(ifname + ".sock");
        Optional<String> named;
        try {
            int owner = (Integer) Files.getAttribute(socket, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            if (owner != 0 && owner != Libc.geteuid()) {
                return Optional.empty();
            }
            named = UapiProtocol.configFile(UapiClient.request(socket, UapiProtocol.GET + "\n\n"));
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.empty(); // no socket, a stale one, or one this user may not open
        }
        Path file;
        try {
            file = named.map(Path::of).orElse(null);
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
        // The interface is named after its file: a file of another name is not this interface's.
        if (file == null || !file.isAbsolute() || file.getFileName() == null
                || !file.getFileName().toString().equals(ifname + ".conf")) {
            return Optional.empty();
        }
        if (!Files.isRegularFile(file)) {
            throw new UserError(ifname + " was started from " + file + ", which is no longer there: give the"
                    + " configuration file's path instead of the interface's name");
        }
        return Optional.of(file);
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
