/* Source of tiny.pdb / tiny.dll: a few kernel-like structs with bitfields, unions, arrays,
   pointers and an enum. Rebuild (LLVM 14, on Linux):
     clang-14 --target=x86_64-pc-windows-msvc -c -g -gcodeview -O0 -o tiny.obj tiny.c
     lld-link-14 /dll /noentry /nodefaultlib /debug /pdb:tiny.pdb /out:tiny.dll tiny.obj
     (then delete tiny.obj; tiny.dll is not needed by the tests) */
typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY;

typedef enum _VAD_TYPE { VadNone = 0, VadDevicePhysicalMemory = 1, VadImageMap = 2, VadBig = 0x7fffffff } VAD_TYPE;

typedef struct _MMVAD_FLAGS {
    unsigned long Lock : 1;
    unsigned long LockContended : 1;
    unsigned long DeleteInProgress : 1;
    unsigned long NoChange : 1;
    unsigned long VadType : 3;
    unsigned long Protection : 5;
    unsigned long PreferredNode : 6;
    unsigned long PageSize : 2;
    unsigned long PrivateMemory : 1;
} MMVAD_FLAGS;

typedef struct _MMVAD_SHORT {
    LIST_ENTRY Links;
    unsigned long StartingVpn;
    unsigned long EndingVpn;
    unsigned char StartingVpnHigh;
    unsigned char EndingVpnHigh;
    union {
        unsigned long LongFlags;
        MMVAD_FLAGS VadFlags;
    } u;
    unsigned long long Big : 40;
    unsigned long long Small : 3;
    VAD_TYPE Kind;
    struct _MMVAD_SHORT *Children[2];
    unsigned short Name[3][4];
} MMVAD_SHORT;

typedef struct _EPROCESS {
    void *UniqueProcessId;
    LIST_ENTRY ActiveProcessLinks;
    unsigned char ImageFileName[15];
    MMVAD_SHORT VadRoot;
    const volatile long Counter;
} EPROCESS;

__declspec(dllexport) EPROCESS PsInitialSystemProcessObject;
__declspec(dllexport) int TinyCount = 3;

__declspec(dllexport) unsigned long long TinyProtection(MMVAD_SHORT *v) {
    return v->u.VadFlags.Protection + v->Big + sizeof(EPROCESS);
}
