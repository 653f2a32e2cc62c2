"""Face-pretrained networks of the npm package `@vladmandic/face-api` (MIT), in PyTorch: its weights
manifests read without TensorFlow.js, the expression net as a teacher, dlib's ResNet-29 face descriptor
as a backbone (`fer_train.models.face_descriptor`). `.ci/run` installs the package under web/node_modules
(`npm ci --prefix web`); nothing is downloaded at run time."""
