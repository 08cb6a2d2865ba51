package org.streamfusion.cuda.loader;

import java.nio.file.Path;

/**
 * A library that is loaded into the JVM.
 *
 * @param library which one
 * @param path    the file the dynamic linker mapped
 * @param source  how it was chosen, e.g. "system property streamfusion.cudart.path" or "linker search"
 */
public record LoadedLibrary(NativeLibrary library, Path path, String source) {
}
