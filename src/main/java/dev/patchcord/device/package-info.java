/**
 * The tunnel loops: the threads that move packets between a device ({@code tun}) and a transport
 * ({@code transport}), with the WireGuard core ({@code core.wg}) deciding what each packet is.
 *
 * <h2>Outbound: interface to network (encrypted, batched, TUN mode)</h2>
 *
 * The {@code device-to-net} thread runs {@link dev.patchcord.device.BatchOutbound.Runner}, which
 * owns the sealing {@link dev.patchcord.device.CryptoPool} and a {@link dev.patchcord.device.BatchOutbound}:
 * <ol>
 * <li><b>Read and cut</b> ({@code tun/BatchReader}): wait for the first packet, take what else
 *     the interface holds; TSO super-packets are cut into MTU-sized segments, one per slot, with
 *     room for the WireGuard header in front and padding and tag behind.</li>
 * <li><b>Route</b> ({@code device/BatchOutbound.took}): allowed IPs find each segment's peer; the
 *     tunnel's own datagrams coming back are dropped, a destination no peer covers is answered
 *     with ICMP.</li>
 * <li><b>Number</b> ({@code core/wg/Peer.prepareSeal}): the next counter and the header, in send
 *     order; a peer without a session stages the packet and starts a handshake.</li>
 * <li><b>Seal</b> ({@code device/CryptoPool}): the batch's cipher work is shared with worker
 *     threads.</li>
 * <li><b>Pack</b> ({@code device/GsoMessages}, from {@code BatchOutbound.flush}): runs of
 *     segments to one peer become one UDP GSO message each; a peer the transport wants to reach
 *     alone (its TCP connection) goes through {@code WgTunnel.sendTo}.</li>
 * <li><b>Send</b> ({@code transport/UdpSocket}, behind {@code transport/Transport}): the batch
 *     leaves with one {@code sendmmsg}, from each peer's sticky source address.</li>
 * </ol>
 * Six files: {@code tun/BatchReader}, {@code device/BatchOutbound}, {@code core/wg/Peer},
 * {@code device/CryptoPool}, {@code device/GsoMessages}, {@code transport/UdpSocket} (seven with
 * {@code tun/TunDevice}, whose read is one system call behind {@code PacketDevice}).
 *
 * <h2>Inbound: network to interface (encrypted, batched, TUN mode)</h2>
 *
 * The {@code net-to-device} thread runs {@link dev.patchcord.device.BatchInbound.Runner}, which
 * owns the opening {@link dev.patchcord.device.CryptoPool} and a {@link dev.patchcord.device.BatchInbound}:
 * <ol>
 * <li><b>Receive</b> ({@code transport/BatchReceiver}, the loop shared with the plain modes):
 *     the transport ({@code transport/UdpSocket}) fills up to 32 buffers with one
 *     {@code recvmmsg}; with UDP GRO a buffer holds several datagrams of one peer.</li>
 * <li><b>Prepare</b> ({@code core/wg/Node.prepareOpen}, from {@code device/BatchInbound.buffer}): each
 *     transport message's type and length are checked and its session found, in arrival order;
 *     handshake messages go to {@code device/Receiver} one by one.</li>
 * <li><b>Open</b> ({@code device/CryptoPool}): decryption in place on the worker threads.</li>
 * <li><b>Complete</b> ({@code core/wg/Node.completeOpen}): replay window, key rotation, the
 *     allowed-IPs source check, padding trimmed.</li>
 * <li><b>Act</b> ({@code device/Receiver.act}): the peer roams to where the message came from;
 *     the packet is delivered, forwarded to another peer (hub) or answered.</li>
 * <li><b>Write</b> ({@code device/CoalescingWriter}): segments of one flow are merged into
 *     super-packets and written to the TUN with a virtio-net header.</li>
 * </ol>
 * Six files: {@code transport/BatchReceiver}, {@code device/BatchInbound}, {@code core/wg/Node},
 * {@code device/CryptoPool}, {@code device/Receiver}, {@code device/CoalescingWriter} (eight with
 * the system calls at either end, {@code transport/UdpSocket.receive} and
 * {@code tun/TunDevice.write}).
 *
 * <h2>The other paths</h2>
 *
 * Without batches ({@code Offloads = none}) {@link dev.patchcord.device.OutboundLoop} and
 * {@link dev.patchcord.device.InboundLoop} do the same one packet at a time. Over TCP
 * ({@code transport/TcpTransport}) each connection's reader reads up to 128 KiB at a time and
 * hands every whole message of it to a {@link dev.patchcord.device.TcpInbound} of its own, which
 * opens them together with one of the tunnel's few {@code TcpOpeners} (as {@code BatchInbound}
 * opens a batch; in TAP mode, or with none free, one by one through a {@code Receiver}); and
 * {@code TcpTransport}, standing in front of the socket as the tunnel's {@code Transport}, sends
 * to a peer over its connection: the batched outbound path queues a batch's messages to one
 * connection together, and the connection's writer sends them in one write. The {@link dev.patchcord.device.Timers}
 * thread ticks the node (retries, keepalives, expiry) and sends what the peers queued. The plain
 * modes ({@link dev.patchcord.device.PlainTunnel}) read with the same {@code tun/BatchReader}
 * ({@code PlainBatchOutbound}) and receive with the same {@code transport/BatchReceiver}
 * ({@code PlainBatchInbound}), with a framing in place of the core.
 */
package dev.patchcord.device;
