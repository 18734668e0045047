"""The registered pyfunc's code (MLflow models-from-code): MLflow copies this file into the model and
runs it when loading, so no pickled Python object is stored; the weights load with safetensors."""
from mlflow.models import set_model

from dlcr_reid.registry.embedder import ReidEmbedder

set_model(ReidEmbedder())
