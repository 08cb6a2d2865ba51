package org.streamfusion.cuda.loader;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * dlopen/dlerror/dlinfo from libc. Used so that a soname is resolved by the dynamic linker's own
 * search (which System.load cannot do) and so that a failure reports dlerror's exact text.
 * Hand-written rather than generated: these four libc calls are not part of the CUDA bindings.
 */
final class Dl {
    private static final int RTLD_NOW = 0x2;
    private static final int RTLD_DI_LINKMAP = 2;
    /** struct link_map { ElfW(Addr) l_addr; char *l_name; ... }: l_name follows one pointer. */
    private static final long LINK_MAP_L_NAME_OFFSET = ADDRESS.byteSize();

    private final MethodHandle dlopen;
    private final MethodHandle dlerror;
    private final MethodHandle dlinfo;

    private Dl(MethodHandle dlopen, MethodHandle dlerror, MethodHandle dlinfo) {
        this.dlopen = dlopen;
        this.dlerror = dlerror;
        this.dlinfo = dlinfo;
    }

    /** Empty where libc does not expose the functions in the default lookup (not glibc 2.34+). */
    static Optional<Dl> find() {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        var open = libc.find("dlopen");
        var error = libc.find("dlerror");
        var info = libc.find("dlinfo");
        if (open.isEmpty() || error.isEmpty() || info.isEmpty()) {
            return Optional.empty();
        }
        var charPtr = ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(Long.MAX_VALUE, JAVA_BYTE));
        return Optional.of(new Dl(
                linker.downcallHandle(open.get(), FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT)),
                linker.downcallHandle(error.get(), FunctionDescriptor.of(charPtr)),
                linker.downcallHandle(info.get(), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS))));
    }

    /** Result of one dlopen: the file the linker picked, or its error text. */
    record Opened(String path, String error) {
        boolean ok() {
            return path != null;
        }
    }

    /**
     * dlopen(name, RTLD_NOW). The handle is never closed: libraries stay for the life of the process,
     * as System.load's do.
     */
    Opened open(String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) dlopen.invokeExact(arena.allocateFrom(name), RTLD_NOW);
            if (handle.equals(MemorySegment.NULL)) {
                return new Opened(null, lastError());
            }
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = (int) dlinfo.invokeExact(handle, RTLD_DI_LINKMAP, out);
            if (rc != 0) {
                return new Opened(null, "dlinfo(RTLD_DI_LINKMAP) failed: " + lastError());
            }
            MemorySegment linkMap = out.get(ADDRESS, 0).reinterpret(2 * ADDRESS.byteSize());
            MemorySegment lName = linkMap.get(ADDRESS, LINK_MAP_L_NAME_OFFSET).reinterpret(Long.MAX_VALUE);
            return new Opened(lName.getString(0), null);
        } catch (Throwable t) {
            return new Opened(null, "dlopen downcall failed: " + t);
        }
    }

    private String lastError() throws Throwable {
        MemorySegment msg = (MemorySegment) dlerror.invokeExact();
        return msg.equals(MemorySegment.NULL) ? "unknown dlopen error" : msg.getString(0);
    }
}
