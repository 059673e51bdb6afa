package dev.patchcord.core.udptun;

import java.net.Inet4Address;

/**
 * One member of a hosts.json {@code nodes} object, before its host is resolved: packets for
 * {@code inner} (0.0.0.0 for any) go to {@code host}:{@code port}.
 */
public record HostEntry(Inet4Address inner, String host, int port) {}
