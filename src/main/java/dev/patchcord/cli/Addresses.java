package dev.patchcord.cli;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Turns the host names, literals and ports users type into socket addresses, with clear errors. */
final class Addresses {
    private Addresses() {}

    /** A host name, an IPv4 literal or an IPv6 literal (bare or in brackets). */
    static InetAddress host(String host) {
        if (host == null || host.isBlank()) {
            throw new UserError("an empty host name is not an address");
        }
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new UserError("cannot resolve host '" + host + "'");
        } catch (IllegalArgumentException e) {
            throw new UserError("'" + host + "' is not a valid address");
        }
    }

    static InetSocketAddress socket(String host, int port) {
        return new InetSocketAddress(host(host), port);
    }

    static int port(int port) {
        if (port < 1 || port > 65535) {
            throw new UserError("port " + port + " is out of range (1-65535)");
        }
        return port;
    }

    /** A port number, or a UDP service name from /etc/services (tinyvpn accepts both). */
    static int port(String text) {
        try {
            return port(Integer.parseInt(text.trim()));
        } catch (NumberFormatException e) {
            Integer byName = serviceLookup(text.trim());
            if (byName == null) {
                throw new UserError("'" + text + "' is neither a port number nor a known UDP service");
            }
            return byName;
        }
    }

    private static Integer serviceLookup(String name) {
        Path services = Path.of("/etc/services");
        if (name.isEmpty() || !Files.isReadable(services)) {
            return null;
        }
        try (var lines = Files.lines(services)) {
            String wanted = name.toLowerCase(Locale.ROOT);
            return lines.map(l -> l.replaceFirst("#.*", "").trim())
                    .filter(l -> !l.isEmpty())
                    .map(l -> l.split("\\s+"))
                    .filter(f -> f.length >= 2 && f[1].endsWith("/udp"))
                    .filter(f -> {
                        for (int i = 0; i < f.length; i++) {
                            if (i != 1 && f[i].toLowerCase(Locale.ROOT).equals(wanted)) {
                                return true;
                            }
                        }
                        return false;
                    })
                    .map(f -> Integer.parseInt(f[1].substring(0, f[1].indexOf('/'))))
                    .findFirst().orElse(null);
        } catch (Exception e) {
            return null;
        }
    }
}
