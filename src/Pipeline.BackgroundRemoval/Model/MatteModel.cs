using Microsoft.ML.OnnxRuntime;

namespace Pipeline.BackgroundRemoval.Model;

/// <summary>
/// One ONNX Runtime session for a matting model, shared by every caller in the process: <see cref="InferenceSession"/>
/// runs are thread-safe, and one session keeps one copy of the weights. Its descriptor is checked against the
/// model's metadata at load, so a wrong descriptor fails at start, not with nonsense mattes.
/// </summary>
public sealed class MatteModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _inputName;
    private readonly string _outputName;
    private readonly long[] _inputShape;
    private readonly SemaphoreSlim _runs;

    private MatteModel(InferenceSession session, ModelDescriptor descriptor, string path, string inputName, string outputName, SessionOptions sessionOptions, int maxConcurrentRuns)
    {
        _runs = new SemaphoreSlim(maxConcurrentRuns, maxConcurrentRuns);
        _session = session;
        Descriptor = descriptor;
        Path = path;
        _inputName = inputName;
        _outputName = outputName;
        SessionOptions = sessionOptions;
        _inputShape = [1, 3, descriptor.InputSize, descriptor.InputSize];
    }

    public ModelDescriptor Descriptor { get; }

    public string Path { get; }

    /// <summary>The options the session was built with, so a comparison loop can use the very same ones.</summary>
    public SessionOptions SessionOptions { get; }

    public int InputSize => Descriptor.InputSize;

    /// <summary>Builds the session options every model of this process uses.</summary>
    public static SessionOptions CreateSessionOptions(MatteModelOptions options) => new()
    {
        IntraOpNumThreads = options.Validate().IntraOpThreads,
        InterOpNumThreads = 1,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        // EXTENDED, not ALL: ALL adds NCHWc layout buffers, +70 MB peak per run (275 vs 206 MB measured) for no measured
        // speed gain on this machine (docs/benchmarks.md).
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        EnableCpuMemArena = options.MemoryArena,
        EnableMemoryPattern = true, // planned reuse of intermediate buffers: a lower peak per run (348 vs 386 MB measured)
    };

    /// <summary>
    /// Loads a model. Without <paramref name="descriptor"/>, a sidecar <c>&lt;model&gt;.json</c> is used if present, or
    /// the family is told from the input size (320: U²-Net, 1024: ISNet).
    /// </summary>
    public static MatteModel Load(string? modelPath = null, ModelDescriptor? descriptor = null, MatteModelOptions? options = null)
    {
        string path = ModelLocator.Resolve(modelPath, out bool isDefault);
        if (isDefault)
        {
            ModelLocator.VerifyDefault(path);
        }

        descriptor ??= ModelDescriptor.FindSidecar(path);
        options ??= MatteModelOptions.Default;
        SessionOptions sessionOptions = CreateSessionOptions(options);
        InferenceSession session;
        try
        {
            session = new InferenceSession(path, sessionOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            sessionOptions.Dispose();
            throw new ModelDescriptorMismatchException($"{path}: not a loadable ONNX model: {FirstLine(ex.Message)}", ex);
        }

        try
        {
            (ModelDescriptor checkedDescriptor, string input, string output) = Check(session, descriptor, path);
            return new MatteModel(session, checkedDescriptor, path, input, output, sessionOptions, options.MaxConcurrentRuns);
        }
        catch
        {
            session.Dispose();
            sessionOptions.Dispose();
            throw;
        }
    }

    private static (ModelDescriptor, string, string) Check(InferenceSession session, ModelDescriptor? descriptor, string path)
    {
        string name = System.IO.Path.GetFileName(path);
        IReadOnlyDictionary<string, NodeMetadata> inputs = session.InputMetadata;
        if (inputs.Count != 1)
        {
            throw new ModelDescriptorMismatchException($"{name}: a matting model has one image input; this one has {inputs.Count} ({string.Join(", ", inputs.Keys)})");
        }

        string inputName = descriptor?.InputName ?? inputs.Keys.First();
        if (!inputs.TryGetValue(inputName, out NodeMetadata? input))
        {
            throw new ModelDescriptorMismatchException($"{name}: descriptor names input '{inputName}', but the model's input is '{inputs.Keys.First()}'");
        }

        int[] dims = input.Dimensions;
        if (dims.Length != 4 || (dims[1] != 3 && dims[1] > 0))
        {
            throw new ModelDescriptorMismatchException($"{name}: input '{inputName}' has shape [{string.Join(",", dims)}]; expected [1,3,size,size] (RGB, NCHW)");
        }

        int modelSize = dims[2] > 0 ? dims[2] : dims[3];
        if (dims[2] > 0 && dims[3] > 0 && dims[2] != dims[3])
        {
            throw new ModelDescriptorMismatchException($"{name}: input '{inputName}' is {dims[3]}x{dims[2]}; only square inputs are supported");
        }

        if (descriptor is null)
        {
            descriptor = modelSize switch
            {
                320 => ModelDescriptor.U2Net,
                1024 => ModelDescriptor.IsNet,
                _ => throw new ModelDescriptorMismatchException(
                    $"{name}: cannot tell the model family from its input size {(modelSize > 0 ? modelSize.ToString(System.Globalization.CultureInfo.InvariantCulture) : "(dynamic)")}; put a descriptor next to it as {name}.json"),
            };
        }

        descriptor.Validate(name);
        if (modelSize > 0 && modelSize != descriptor.InputSize)
        {
            throw new ModelDescriptorMismatchException(
                $"{name}: the model's input is {modelSize}x{modelSize}, but its descriptor ({descriptor.Family}) says {descriptor.InputSize}x{descriptor.InputSize}");
        }

        IReadOnlyDictionary<string, NodeMetadata> outputs = session.OutputMetadata;
        string outputName = descriptor.OutputName ?? outputs.Keys.First();
        if (!outputs.TryGetValue(outputName, out NodeMetadata? output))
        {
            throw new ModelDescriptorMismatchException($"{name}: descriptor names output '{outputName}', which the model does not have (outputs: {string.Join(", ", outputs.Keys.Take(8))})");
        }

        int[] outDims = output.Dimensions;
        if (outDims.Length != 4 || (outDims[1] > 0 && outDims[1] != 1))
        {
            throw new ModelDescriptorMismatchException($"{name}: output '{outputName}' has shape [{string.Join(",", outDims)}]; expected a one-channel matte [1,1,size,size]");
        }

        return (descriptor, inputName, outputName);
    }

    /// <summary>
    /// Runs the model once on a blank input: ONNX Runtime's first run prepares kernels and buffers and takes several
    /// times longer than the rest, so a host pays that at start, not on its first job.
    /// </summary>
    public void WarmUp() => Run(new float[3 * InputSize * InputSize]);

    /// <summary>
    /// Runs the model on one pre-processed NCHW tensor (3 x size x size) and returns the raw matte (size x size).
    /// Safe to call from several threads at once.
    /// </summary>
    public float[] Run(float[] input)
    {
        int size = Descriptor.InputSize;
        if (input.Length != 3 * size * size)
        {
            throw new ArgumentException($"input must hold 3x{size}x{size} values (got {input.Length})", nameof(input));
        }

        _runs.Wait();
        try
        {
            using OrtValue tensor = OrtValue.CreateTensorValueFromMemory(input, _inputShape);
            using var runOptions = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> results = _session.Run(runOptions, [_inputName], [tensor], [_outputName]);
            ReadOnlySpan<float> matte = results[0].GetTensorDataAsSpan<float>();
            if (matte.Length != size * size)
            {
                throw new InvalidOperationException($"{System.IO.Path.GetFileName(Path)}: output '{_outputName}' held {matte.Length} values, expected {size * size}");
            }

            return matte.ToArray();
        }
        finally
        {
            _runs.Release();
            NativeMemory.Trim();
        }
    }

    public void Dispose()
    {
        _runs.Dispose();
        _session.Dispose();
        SessionOptions.Dispose();
    }

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();
}
