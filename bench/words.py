"""Word and name lists for bench.generate, kept apart so that the generator reads as code.

Every vocabulary word is lowercase ASCII letters only, so that it is one token, and the same
token, for pubapi's search, SQLite FTS5 and a plain `[a-z]+` count. The tiers set how often a
word is drawn (bench.generate ranks them, shuffling within a tier with a fixed seed): the most
frequent FUNCTION words lead, as in real English, then the other FUNCTION words mixed with the
CORE words, then GENERAL, and RARE words form the steep tail that makes words of very few
documents exist at every size.
"""


def _words(text: str) -> list[str]:
    return text.split()


FUNCTION = _words(
    """
the of and a to in we is that for this on with by as are be an our from it which can these
at or not its their such both than while into also has have been over between through each
when where how other all however only most then thus there they them here do does should may
must would could any some many very so if no without within across under upon via whether
what who whose those because since although after before during among against toward about
above below along around beyond per rather either nor yet still even often further moreover
therefore hence us itself same own few less
"""
)

CORE = _words(
    """
model models learning data method methods results approach propose proposed performance
training network networks neural task tasks show problem framework information language
large based using use existing paper work deep new different systems system algorithm
algorithms image images representation representations dataset datasets feature features
generation accuracy efficient efficiency evaluation experiments experimental analysis
demonstrate significantly significant improve improves improved improvement multiple
effective effectively novel high low important challenge challenges challenging approaches
techniques technique structure space prediction predictions transformer transformers
attention diffusion quantization reinforcement agent agents policy reward gradient
optimization convergence loss objective regularization generalization embedding embeddings
token tokens encoder decoder latent variational generative classification regression
segmentation detection retrieval graph graphs convolutional sequence pretraining pretrained
benchmark benchmarks baseline baselines inference sampling distribution distributions
uncertainty robustness robust sparse compression multimodal vision visual speech text
semantic reasoning memory prompt prompting alignment human feedback interpretability causal
fairness scaling scalable parameters layer layers kernel matrix vector dimensional
supervised unsupervised contrastive adaptation domain transfer knowledge modeling
theoretical empirical analyze evaluate achieve achieves state outperforms competitive
accurate simple complex general specific context contextual cost computational compute scale
scales small settings setting real world applications application input inputs output
outputs function functions process processing quality estimation estimate error errors bound
bounds sample samples efficiently study studies studied develop developed design designed
introduce introduces present presents provide provides enable enables allows able better
best strong stronger standard prior previous recent recently current key main particular
various diverse wide range number set sets level levels order step steps stage stages module
modules component components mechanism mechanisms strategy strategies solution solutions
capability capabilities limited limitations lack address addresses remains open question
questions understanding insight insights evidence observe observed find findings suggest
suggests leads lead consistent consistently substantially substantial fine tuning tuned
instruction instructions preference preferences hallucination explanation causality
counterfactual bias biases heads width depth nodes node edges edge classifier classifiers
discriminative likelihood posterior probabilistic stochastic bayesian perturbation
perturbations privacy federated distillation pruning sparsity video audio textual semantics
planning retrieved augmented decoding autoregressive masked attacks attack defense
adversarial noise noisy labels label labeled unlabeled annotation annotations synthetic
natural trained train generalize tokenizer vocabulary parameter hyperparameters weights
weight activations activation precision throughput latency speedup hardware accelerator
accelerators gpu ability absence abstraction account accumulate acquisition adding adequate
analytical appropriate argue arithmetic asymptotic automated axis bandwidth barrier basic
binary biological breadth broader budget buffer burden capacity carefully central certain
characterize chosen classical clean clinical coarse cognitive compact compatible
complementary conceptual confidence confirm conservative considerable constant content
conventional convex corrupted coverage covariance criterion critical cross curated
curriculum customized daily database deal default definition degradation deliver dense
density deterministic deviation diagnosis differentiable difficulty digital disentangled
display distinct dominant downstream drawn driven due duration ease easily easy eliminate
emphasis encourage ensemble entire entropy equivalent especially essential examine exceed
excellent expansion expected expensive exponential external extreme facial faithful family
faster feasible fixed formal forward foundation frequency frequent fully furthermore fusion
future generalizable genetic geometric given global good greater greatly grid growth
guidance harmful heavy heterogeneous hidden hierarchy higher highlight holistic hybrid
hypothesis identification implicit independent inductive industrial infinite infrastructure
inherent inner instead intended interface internal intervention intrinsic invariant
iterative jointly keep known laboratory larger later learner library lightweight likely
linguistic list literature longer loop lower magnitude manipulation manner mathematical
matter maximize meaningful medical medium middle minimum mining missing mixed mixture modern
modified modular monitoring motion motivated mutual narrow native nearly necessary
neighborhood nonlinear notably notion online opportunity organization overall overcome
overview parallel participants parts past peak people perspective phase phenomenon place
platform player polynomial poor popular portion pose possible preliminary pressure primary
profile progress promising proportion protocol proximal purpose pursuit quadratic
quantitative quantity ratio reader realistic reality receive recognition recommendation
reduction reference reflect repeated replace replay residual resolution restricted review
rich right runtime safety saving scientific search second security self sequential serve
severe short side simplicity simply single social software special spectral split stable
status steering strength student style subset sufficient suitable superior surface
surprising symbolic symmetric symmetry technical technology temporal theory thereby
threshold total trace tradeoff transparent treatment trust unified uniform unique unknown
unseen upper variance variety vast versus virtual vulnerable window workflow worst
"""
)

GENERAL = _words(
    """
accelerate acceptable access accessible achieving action actions active actively actual
adapt adapted adaptive addition additional additionally adjust adjusted adjustment adopt
adopted advance advanced advances advantage advantages affect affected affects aggregate
aggregated aggregation aim aimed aims algorithmic align aligned allocation alternative
alternatives ambiguity ambiguous amount amounts analog analogous anomaly answer answering
answers apply applied applying approximate approximated approximately approximation
architecture architectures area areas argument arguments arise arises array arrays aspect
aspects assess assessed assessment assign assigned assignment associated association assume
assumed assumption assumptions asymmetric augmentation author authors automatic
automatically availability available average averaged averaging avoid avoids aware awareness
backbone balance balanced band basis batch batches behavior behaviors benefit benefits block
blocks boost boosting boundary boundaries branch branches bridge broad build building builds
built cache caching calculate calculation candidate candidates capture captured captures
case cases category categories cell cells center chain chains change changes channel
channels characteristic characteristics chemical choice choices circuit circuits claim
claims class classes clear close closed cluster clusters clustering code codes coding
coherent collaborative collect collected collection combination combine combined combines
combining common commonly communication community comparable compare compared comparing
comparison comparisons complete completely completion complexity composition compositional
comprehensive compressed computation computations computing concept concepts concern
concerns condition conditional conditioned conditions configuration configurations conflict
connected connection connections consequence consequently consider considered considering
consistency constrained constraint constraints construct constructed construction contain
containing contains continual continuous contrast contribute contribution contributions
control controlled controller converge converges conversation conversational coordinate core
correct corrected correction correlated correlation correspond corresponding count counting
coupled coupling create created creating criteria crucial curve curves cycle decision
decisions decomposition decrease decreases define defined degree degrees delay demand
demands demonstrated demonstrates dependence dependencies dependency dependent deploy
deployed deployment derive derived describe described description descriptions despite
detail detailed details detect detected determine determined developing development device
devices dialogue difference differences difficult dimension dimensions direct direction
directions directly discover discovery discrete discuss discussed distance distances
distinguish distributed distributional divergence diversity document documents drift drop
dual dynamic dynamics early economic edit editing effect effects effort efforts element
elements embedded emerge emergent emerging employ employed empirically encode encoded
encoding end energy engine engineering enhance enhanced enhancement enhances ensure ensures
entities entity environment environments equal equation equations establish established
evaluated evaluating event events evolution evolving exact exactly example examples exhibit
exhibits exist exists expand experience expert experts explain explicit explicitly exploit
exploration explore explored exploring expression expressive extend extended extending
extension extensive extensively extract extracted extraction face factor factors failure
failures far fast field fields filter filtering final finally finding fit fitting flexible
flow focus focused focuses follow following form formulate formulation fraction frame frames
full functional fundamental gain gains game games gap gaps gaussian gene generally generate
generated generates generating generator geometry goal goals graphical ground group groups
growing guarantee guarantees guide guided hand handle handling hard head health help helps
heuristic heuristics hierarchical highly historical idea ideas identical identified identify
identifying imaging impact impacts implement implementation implemented importance
importantly improving include includes including incorporate incorporating increase
increased increases increasing increasingly index individual individuals induced influence
inform informative initial initialization innovative instance instances integrate integrated
integration intelligence intelligent interaction interactions interactive interest
interesting intermediate interpretable interpretation introduced intuitive investigate
investigated investigation involve involved involving issue issues item items judgment kind
kinds landscape languages largely leading learn learned learns least leverage leverages
leveraging light limit limitation limits linear link links local locally location logic
logical long machine maintain maintaining major majority make makes making manual manually
map mapping maps margin mask matching material materials maximum mean meaning means measure
measured measurement measures meet message messages meta metric metrics minimal minimize
mismatch mobile modal modality modalities mode modes molecular molecule molecules move multi
navigation need needed needs negative neighbors norm normal normalization numerical numerous
object objectives objects observation observations obtain obtained offer offers offline
operation operations operator operators optimal optimize optimized optimizing option options
ordering orders original outcome outcomes outperform outperforming pair paired pairs
paradigm partial partially particularly partition passing path paths pattern patterns
perceptual perform performed performing performs period permutation personal personalized
physical physics pipeline pixel pixels plan plays point points pool pooling population
position positional positive post potential potentially power powerful practical practice
precise predict predicted predicting predictive predictor preserve preserving principle
principled principles probability procedure procedures produce produces product production
program programming programs project projection promote properties property proposes protein
proteins prove proven public qualitative query queries random randomized randomly rank
ranking rapid rapidly rate rates raw reach reaching read reading reason reasonable recall
reconstruct reconstruction recover recovery recurrent reduce reduced reduces reducing
redundancy redundant refine refinement regime regimes region regions related relation
relational relations relationship relationships relative relatively release released
relevance relevant reliability reliable rely relying remain remarkable remove removing
report reported represent represented representative representing represents reproducible
require required requirement requirements requires requiring research researchers resource
resources respect respectively response responses result resulting retain reveal reveals
rigorous risk risks robot robotic robotics robots role roles rule rules run running safe
sampled satisfy scalability scene scenes scenario scenarios schedule scheme schemes science
score scores section segment select selected selecting selection selective semantically
sensitive sensitivity sensor sensors separate separately series service services shape
shapes share shared sharing shift shifts shown shows signal signals similar similarity
simulation simulations simultaneously size sizes skill skills smooth smoothing solve solved
solver solving source sources spatial spatially speed stability statistical statistics
storage stream streaming structural structured subject success successful successfully
summary supervision support supports survey target targeted targets teacher term terms test
tested testing theorem tight time times tool tools topic topics topology track tracking
trade traditional trajectories trajectory transform transformation transformations
transition transitions translation tree trees trend trends type types typical typically
unbiased uncertain underlying understand unit units universal update updates usage useful
user users utility utilize valid validate validated validation value values variability
variable variables variant variants variation variations verify version view views weak
weakly whole word words zero
"""
)

RARE = _words(
    """
abductive ablation ablated absorbing acoustic acyclic adagrad adjoint admissible affine
agglomerative agnostic airfoil aleatoric allocator amortized amplitude anatomical anchor
anisotropic annealed annealing antibody apriori arbitrage arborescence archival argmax
asynchronous atomistic attenuation auction augmenting autocorrelation autodiff autoencoder
autoencoders autonomous autotuning auxiliary axiomatic backdoor backpropagation backtracking
bagging bandit bandits banded barycenter barycentric baseband beamforming bellman bernoulli
bicubic bifurcation bigram bilevel bilinear bimodal binarized binning biomarker biomedical
bipartite bitwidth blockchain blurring bootstrap bootstrapping bottleneck brittle
broadcast bucketing calibrated calibration camouflage canonical cardinality cartesian
cartography cascade cascaded catastrophic categorical caustic centroid centroids chaotic
checkpoint checkpointing chemistry chirality cholesky chromatic chunking circulant citation
cladistic cochlear codebook coherence cohomology collinear collocation colorization
combinatorial commonsense commutative compiler completeness compressive concave
concurrency conformal conformer congestion conjugate connectome connectivity consensus
contiguous contour convolution coreference corpora corpus cosine counterfactuals crowdsourced
cryptographic cubature cumulant curvature cyclic dataflow deblurring debiasing decentralized
deconvolution deduplication deepfake deformable deformation dehazing delaunay demosaicing
dendrogram denoiser denoising densification depthwise dermatology desiderata diagonal
dichotomy dictionary diffeomorphic dihedral dilated dirichlet discounting discretization
disfluency disparity dissipative distortion dithering divergences dropout duality
dyadic echocardiography ecological eigenvalue eigenvector eigenvectors elastic
electroencephalography ellipsoid embodied emulator encrypted endoscopic energetic enzymatic
epidemiological epistemic equivariance equivariant ergodic estimator estimators euclidean
eviction evolutionary exogenous expectile exploitation extractive extrapolation factorial
factorization factorized falsification fermionic fidelity filtration finetuned
fingerprinting flowchart fluorescence forecasting forgetting formant fourier fractal
fragmentation frontier functor gating genomic genotype geodesic geospatial gibbs glacial
gradients grammatical granular granularity graphon greedy groundwater gyroscope
hamiltonian hashing hedging hessian heteroscedastic heterophily hexagonal hippocampal
histogram histopathology holographic homogeneous homomorphic homotopy hyperbolic
hypergraph hyperparameter hyperspectral identifiability imbalance imitation immunology
impedance imputation incentive incoherence incremental indexing inertial infilling
injective inpainting instability integrator interpolation intractable invertible isometric
isomorphism isotropic jacobian jailbreak jitter kalman keypoint keypoints kinematic kriging
lagrangian langevin laplacian lattice lexical lexicon lidar lipschitz lithography
logarithmic logit logits longitudinal lossless lossy lowrank lyapunov magnetic mahalanobis
mammography manifold manifolds marginal markov martingale matroid memorization mesh meshes
metabolic metadata microscopy microservice minimax misalignment misinformation
misspecification mitigation mixup momentum monocular monotone monotonic montage morphology
multiagent multilingual multiplicative multiscale multitask mutation myopic nanoscale
negation neuromorphic neuron neurons neuroscience nonconvex nonparametric nonstationary
normalizing nowcasting nullspace nystrom objectness occlusion odometry ontology opacity
optimizer optimizers oracle orthogonal orthogonality oscillation outlier outliers
overfitting overparameterized paleoclimate panoptic parametric paraphrase pareto parsing
partitioning passage perceptron percolation periodic permutations perplexity persistence
phenotype phonetic photometric photonic piecewise plasticity pluralistic pointwise poisson
polarization polarity polygon polytope posteriori pragmatic preconditioner
preconditioning prefetching prefix preprocessing primal privatized procedural prosody
provenance proxy pseudocode psychometric quadrature quantile quantized quantizer quantum
quasi quaternion radar radiance radiology radiometric rasterization reachability recurrence
recursive refactoring regressor regret reinforce relaxation reparameterization repository
reranking resampling retrosynthesis reverberation rewiring riemannian robustly rotary
rotational saliency sandbox satellite satisfiability scalarization scattering scheduler
scoring screening sediment segmenter seismic semidefinite semiparametric sentiment
shapley sheaf shrinkage sigmoid simplex simplicial sinkhorn sketching skeletal slicing
sobolev softmax solvability sonar sparsification spatiotemporal spectrogram spectroscopy
speculative spiking spline splines spurious stationary steganography stemming stereo
stochasticity stratified streamline subgraph sublinear submodular subspace subspaces
subword summarization superpixel superresolution surrogate swarm syllable synaptic
synchronization syntax tabular tactile telemetry temperature tensor tensorized tessellation
tetrahedral thermodynamic tokenization tomography topological toxicity transcription
transducer transductive transient transitive translational transport traversal triangulation
trigram truncation turbulence typology ultrasound unbounded uncertainties underdetermined
undirected unimodal unlearning unrolled upsampling valence vectorized verifier verification
vertex vertices viscosity visuomotor vocoder volumetric voxel wasserstein watermark
watermarking waveform wavelet wavelets weighting wireless workload zeroth
"""
)

# Given names: a few accented, all decomposable (NFKD), so that folding drops the accent.
GIVEN_NAMES = _words(
    """
Aarav Abebe Ada Adrián Agnieszka Ahmed Aiko Aisha Akira Alejandro Alessandro Alexei Alice
Amara Amir Ana Anders Andrés Ángel Anh Anika Anna Antoine Arjun Asha Åsa Aylin Bao Beatriz
Benedikt Bianca Björn Bogdan Bruno Camila Carlos Carmen Catalina Chen Chiara Chidi Chloé
Clara Cristina Daniel Dario Dawit Deepa Diego Dmitri Dong Elena Elif Elias Emeka Emil Emma
Enrique Erik Esra Eun Fatima Felipe Fernando Florian Francesca Françoise Gabriel Gaurav
Giulia Grace Guillaume Hamid Hana Hannah Hao Héctor Helena Hiro Hoang Hugo Ibrahim Ilya
Imran Inès Ingrid Irina Isabel Ivan Jakob James Jana Javier Jia Jiwoo Joana João Jonas
Jorge José Juan Julia Jürgen Kai Kamal Karim Katarina Kavya Kenji Kofi Lars Laura Léa Lei
Lena Leon Li Lin Lorenzo Lucas Lucía Luis Maja Malik Manuel Marco María Marta Mateo Mehmet
Mei Mihai Mikael Min Ming Mohammed Nadia Naledi Natalia Nikolai Nils Noah Noor Olga Omar
Oscar Pablo Paolo Patricia Pedro Ping Priya Qian Rafael Rahul Ravi René Renée Ricardo Rin
Rosa Ruben Ruth Sakura Samir Sandra Santiago Sara Sebastián Sergei Shreya Simone Sofía
Soo Stefan Sven Takeshi Tamar Tariq Tomás Ulla Uma Valentina Vera Victor Wei Xavier Xin
Yara Yasmin Yuki Yusuf Zeynep Zhen Zoë Zoltán
"""
)

FAMILY_NAMES = _words(
    """
Abe Adeyemi Aguilar Ahmadi Akhtar Alves Andersen Anderson Araújo Arslan Bach Bae Baker
Banerjee Bauer Becker Benítez Berger Bianchi Björk Blanco Bose Brandt Brown Bui Byrne
Campbell Cao Carvalho Castillo Castro Chakraborty Chang Chatterjee Chaudhary Chen Cheng
Choi Chowdhury Clarke Costa Cruz Dang Das Dasgupta Davies Delgado Deng Desai Diallo Díaz
Dimitrov Ding Dubois Duong Dvořák Eriksson Esposito Evans Fang Fernández Ferrari Fischer
Fontaine Fuchs Gao García Ghosh Goh Gómez González Greco Gruber Gupta Gutiérrez Haddad
Hahn Han Hansen Hartmann He Herrera Hoffmann Horvat Hossain Huang Hughes Ibrahim Ito
Ivanov Iyer Jansen Jensen Jiang Jiménez Johansson Jones Joshi Jovanović Kang Kapoor Kato
Kaya Keller Khan Khoury Kim Klein Kobayashi Koch Kovács Kowalski Krause Kumar Kuznetsov
Lam Larsen Laurent Le Lee Lefèvre Lehmann Li Liang Lim Lin Lindqvist Liu Lombardi López
Lu Luo Ma Mahmoud Maier Mancini Martínez Matsumoto Mehta Mendoza Meyer Mishra Mohamed
Molina Moreau Moreno Morozov Müller Murphy Nakamura Navarro Nguyen Nielsen Novak Núñez
Okafor Okonkwo Oliveira Olsen Ortiz Osei Ozturk Pal Park Patel Pereira Pérez Petrov
Pham Popescu Qiu Quispe Rahman Ramírez Rao Reddy Reyes Ricci Rivera Rodríguez Romano Romero
Rossi Ruiz Saito Sánchez Santos Sato Schäfer Schmidt Schneider Schulz Sen Shah Sharma Shen
Shi Silva Singh Smith Song Sousa Steiner Suárez Sun Suzuki Svensson Takahashi Tan Tanaka
Tang Taylor Thomas Tran Tsai Ueda Vargas Varma Vasquez Verma Vogel Volkov Wagner Wang Weber
Williams Wilson Wójcik Wolf Wong Wu Xie Xu Yamamoto Yang Yao Ye Yilmaz Yücel Yu Yuan
Zhang Zhao Zheng Zhou Zhu Zimmermann
"""
)

# Made-up model names in titles ("Vexora: ..."): first part + second part.
MODEL_HEADS = _words(
    """
Ae Bor Cal Dra El Fen Gal Hex Ix Jor Kal Lum Mor Nex Or Pyr Quin Ras Syl Tor Ul Vex Wyn Xan
Yor Zel Cy Ner Thal Vor
"""
)
MODEL_TAILS = _words(
    """
ion ara ex ora ix yn ulo eth ani os ira um ada ent iko ova ux ela ar ino eus ia ond ys aro
ek ine ael iq
"""
)

VENUE_TEMPLATES = (
    "International Conference on {}",
    "Journal of {} Research",
    "Transactions on {}",
    "Workshop on {}",
    "Symposium on {}",
    "Annual Meeting on {}",
    "Advances in {}",
    "Findings in {}",
)
VENUE_TOPICS = (
    "Learning Representations",
    "Machine Learning",
    "Computer Vision",
    "Natural Language Processing",
    "Efficient Vision Models",
    "Artificial Intelligence",
    "Neural Information Processing",
    "Robot Learning",
    "Data Mining",
    "Speech and Audio Processing",
    "Information Retrieval",
    "Graph Learning",
    "Reinforcement Learning",
    "Probabilistic Modeling",
    "Trustworthy AI",
    "Computational Linguistics",
    "Medical Imaging",
    "Generative Models",
    "Optimization for Machine Learning",
    "Causal Inference",
    "Multimodal Learning",
    "Scientific Machine Learning",
    "Federated Learning",
    "Autonomous Systems",
    "Human-Centered AI",
)
