package dev.patchcord.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * A native library patchcord uses when the system has it and does without otherwise (libgcrypt,
 * OpenSSL's libcrypto): where the library or one of its symbols is missing, {@link #bind} gives
 * null instead of failing, and the binding class reports the library as unusable.
 */
final class OptionalLibrary {
    /**
     * For calls that never block and never call back into Java, and finish in microseconds: they
     * run without the thread-state changes of an ordinary downcall.
     */
    static final Linker.Option CRITICAL = Linker.Option.critical(false);

    private static final Linker LINKER = Linker.nativeLinker();
    /** The library, or null where this system has none by that name. */
    private final SymbolLookup lookup;

    private OptionalLibrary(SymbolLookup lookup) {
        this.lookup = lookup;
    }

    /** The library {@code soname} (e.g. {@code libgcrypt.so.20}), loaded for the life of the process if present. */
    static OptionalLibrary open(String soname) {
        try {
            return new OptionalLibrary(SymbolLookup.libraryLookup(soname, Arena.global()));
        } catch (IllegalArgumentException e) {
            return new OptionalLibrary(null);
        }
    }

    /** A downcall handle for {@code name}, or null if the library or the symbol is missing. */
    MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... options) {
        if (lookup == null) {
            return null;
        }
        return lookup.find(name).map(symbol -> LINKER.downcallHandle(symbol, fd, options)).orElse(null);
    }
}
